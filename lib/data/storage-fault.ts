/**
 * Storage faults: the SQLite errors that say the file or the disk is at fault, not the SQL.
 * The database layer records each one it sees (whether or not the guest swallows the `err` it
 * got), and the runtime classifies the call's failure from it (`EXTENSION_STORAGE`).
 *
 * | SQLite result code | kind | what the host does |
 * | --- | --- | --- |
 * | `SQLITE_FULL` | `full` | fails the call, rolls its writes back; reads go on |
 * | `SQLITE_IOERR*`, `SQLITE_CANTOPEN*`, `SQLITE_READONLY_*` (and a plain `SQLITE_READONLY` in a write, where the connection is not `query_only`: the file or its directory is not writable) | `io` | the same |
 * | `SQLITE_BUSY*` (another connection held the file's lock past the busy timeout: a backup, a shell, a second host on the same `dataDir`) | `busy` | the same |
 * | `SQLITE_CORRUPT*`, `SQLITE_NOTADB` | `corrupt` | the same, and the database gets no more writes: the extension is `failed` until its file is repaired and it is reloaded |
 */
import { basename } from 'node:path';

export type StorageFaultKind = 'full' | 'io' | 'busy' | 'corrupt';

/** One storage fault, as the data layer saw it. Cloneable (crosses to the main thread). */
export interface StorageFault {
  kind: StorageFaultKind;
  /** SQLite's extended result code name, e.g. `SQLITE_IOERR_WRITE`. */
  sqliteCode: string;
  /** What happened and what to do, naming the file (not its directory: clients may read it). */
  message: string;
}

/**
 * The storage fault `e` (a better-sqlite3 `SqliteError`) stands for, if any. `writing`: the
 * connection was writing (not `query_only`), so a plain `SQLITE_READONLY` is the file's, not the
 * host's read-only rule for `Query` fields.
 */
export function storageFaultOf(e: unknown, file: string, writing = false): StorageFault | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  const kind: StorageFaultKind | undefined =
    code === 'SQLITE_FULL'
      ? 'full'
      : code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY_') || (writing && code === 'SQLITE_READONLY')
        ? 'io'
        : code.startsWith('SQLITE_BUSY')
          ? 'busy'
          : code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB'
            ? 'corrupt'
            : undefined;
  if (!kind) return undefined;
  return { kind, sqliteCode: code, message: faultMessage(kind, code, (e as Error).message, file) };
}

/** The fault `PRAGMA quick_check` reports: its first lines, as a `corrupt` fault. */
export function integrityFault(problems: string[], file: string): StorageFault {
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
  return { kind: 'corrupt', sqliteCode: 'SQLITE_CORRUPT', message: faultMessage('corrupt', 'quick_check', shown, file) };
}

function faultMessage(kind: StorageFaultKind, code: string, detail: string, path: string): string {
  const file = basename(path);
  switch (kind) {
    case 'full':
      return `storage: the disk holding ${file} is full (${code}: ${detail}); this call's changes were rolled back and reads go on. Free space in the data directory.`;
    case 'io':
      return `storage: reading or writing ${file} failed (${code}: ${detail}); this call's changes were rolled back. Check the disk and the data directory.`;
    case 'busy':
      return `storage: ${file} stayed locked by another connection past the busy timeout (${code}: ${detail}); this call's changes were rolled back. Find what holds the lock (a backup, a sqlite3 shell, a second host on the same data directory).`;
    case 'corrupt':
      return (
        `storage: the database file ${file} is damaged (${code}: ${detail}). The host stopped the extension and ` +
        `makes no write to the file. Restore it from a backup (or salvage it with \`sqlite3 ${file} .recover\`), then restart the host (an unchanged .wasm is not reloaded).`
      );
  }
}

/** A call failed on a storage fault; carries it so the runtime can classify the failure. */
export class StorageFaultError extends Error {
  override name = 'StorageFaultError';
  constructor(readonly fault: StorageFault) {
    super(fault.message);
  }
}

/** The storage faults one connection saw. */
export class StorageFaultLog {
  #last: StorageFault | undefined;
  #corrupt: StorageFault | undefined;

  /** The last fault recorded since {@link take}, if any. */
  get last(): StorageFault | undefined {
    return this.#last;
  }

  /** The first `corrupt` fault, once the file is known damaged: no write, ever, on that connection. */
  get corrupt(): StorageFault | undefined {
    return this.#corrupt;
  }

  record(fault: StorageFault): void {
    this.#last = fault;
    if (fault.kind === 'corrupt') this.#corrupt ??= fault;
  }

  /** The last fault since the previous call, if any (and forgets it; {@link corrupt} stays). */
  take(): StorageFault | undefined {
    const fault = this.#last;
    this.#last = undefined;
    return fault;
  }
}
