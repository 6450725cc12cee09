/**
 * The errors the runtime reports. Each carries a stable `code` (what a client or an operator
 * matches on) and the extension's name; the message is for people.
 */

/** Why one field (or one whole call) to an extension failed. */
export type ExtensionErrorCode =
  /** The extension answered `err(message)`. */
  | 'EXTENSION_ERROR'
  /** The call ran past `limits.timeoutMs`; the extension's process (or worker) was stopped and restarted. */
  | 'EXTENSION_TIMEOUT'
  /** The extension trapped (`unreachable`, stack overflow, bad memory access) or its process or worker died. */
  | 'EXTENSION_CRASHED'
  /** The extension's linear memory reached `limits.memoryMb`. */
  | 'EXTENSION_MEMORY_LIMIT'
  /**
   * Process isolation: the extension's process reached its memory cap (`limits.processMemoryMb`
   * for everything it commits, SQLite's heap included; 256 MiB of JavaScript heap).
   */
  | 'EXTENSION_PROCESS_MEMORY_LIMIT'
  /** The extension asked WASI `get-random-bytes` for more than 1 MiB in one call. */
  | 'EXTENSION_RANDOM_BYTES_LIMIT'
  /** The answer was larger than `limits.maxResponseBytes`. */
  | 'EXTENSION_RESPONSE_TOO_LARGE'
  /** The request (arguments + parent + context) was larger than `limits.maxRequestBytes`. */
  | 'EXTENSION_REQUEST_TOO_LARGE'
  /**
   * The field could not be sent to the extension: a value of its arguments or parent is not
   * JSON, nests more than 1,000 levels (SQLite's JSON limit) or refers to itself, or an argument
   * holds an unpaired UTF-16 surrogate (not Unicode text). Nothing was sent; the extension is
   * not blamed.
   */
  | 'EXTENSION_BAD_REQUEST'
  /**
   * The extension's database file or its disk failed: full (`SQLITE_FULL`), an I/O error
   * (`SQLITE_IOERR*`, `SQLITE_CANTOPEN*`, not writable), locked by another connection past the
   * busy timeout (`SQLITE_BUSY*`) or damage (`SQLITE_CORRUPT*`, `SQLITE_NOTADB`). The call's writes were rolled
   * back; it is not counted as a crash. A damaged file also stops the extension (`failed`).
   */
  | 'EXTENSION_STORAGE'
  /** The answer was not valid UTF-8 JSON, or a value in it was refused at the GraphQL boundary (lib/schema/boundary.ts). */
  | 'EXTENSION_BAD_RESPONSE'
  /** The extension is not serving: closed, unloaded, or failed after crashing repeatedly. */
  | 'EXTENSION_UNAVAILABLE'
  /**
   * The request went over one of its budgets for this extension (`budgets.maxFields`,
   * `maxResolvedFields`, `maxAnswerBytes`, `maxAnswerValues`): the client asked too much in one request. Only
   * that request's fields fail; the extension is not blamed.
   */
  | 'EXTENSION_REQUEST_BUDGET'
  /**
   * The application's context grant for this extension failed (`extensions.<name>.context`
   * threw, or gave something that is not a JSON object): the extension is not called; the
   * details are logged, not sent to the client.
   */
  | 'EXTENSION_CONTEXT';

/**
 * A failed call. `extensions` is the shape GraphQL puts into a response's error, so a resolver
 * can throw this as-is and the client sees `{ code, extension }`.
 */
export class ExtensionCallError extends Error {
  override name = 'ExtensionCallError';
  readonly extensions: { code: ExtensionErrorCode; extension: string };

  readonly code: ExtensionErrorCode;
  readonly extension: string;

  constructor(code: ExtensionErrorCode, extension: string, message: string) {
    // No stack trace: the host's frames say nothing about an extension's failure, clients never
    // see them, and capturing and formatting one (GraphQL reads `stack` to wrap the error) was
    // most of the cost of refusing a request's 10,000 fields: ~0.8 s of blocked event loop.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.extension = extension;
    this.extensions = { code, extension };
  }
}

/** The steps of loading an extension, in order. */
export type LoadStep =
  | 'read'
  | 'validate'
  | 'transpile'
  | 'compile'
  | 'instantiate'
  /** Opening the extension's database and `PRAGMA quick_check` on it. */
  | 'database'
  | 'init'
  | 'migrate'
  | 'get-schema'
  /** Checking the SQL resolvers the SDL declares (`@sql`) against the migrated database. */
  | 'sql-resolvers'
  | 'compose';

/** Loading failed at `step`; nothing of this version is serving. */
export class ExtensionLoadError extends Error {
  override name = 'ExtensionLoadError';

  constructor(
    readonly extension: string,
    readonly step: LoadStep,
    /** The underlying reason, without the extension/step prefix. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`extension "${extension}" failed at ${step}: ${reason}`, options);
  }
}

/** The message of anything thrown, for error texts. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
