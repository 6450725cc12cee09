/**
 * `loadExtension`: from a `.wasm` file (or its bytes) to a running, sandboxed {@link Extension}.
 *
 *   read -> validate -> transpile (cached) -> compile (cached) -> instantiate -> init -> migrate -> get-schema
 *
 * A failure at any step rejects with an {@link ExtensionLoadError} naming the extension and the
 * step, and leaves nothing running.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { jsonBytes } from '../data/json-values.js';
import { holdMigration } from './migration-holds.js';
import { assertExtensionName, databasePath, extensionNameFromFile } from '../data/names.js';
import type { StorageFault } from '../data/storage-fault.js';
import { InlineBackend, StartError, type Backend, type BackendSpec } from './backend.js';
import { CompileStepError, ComponentCompiler } from './compile.js';
import { ExtensionLoadError, messageOf } from './errors.js';
import { Extension } from './extension.js';
import { consoleLogger, type Logger } from './logger.js';
import { processBackend } from './process-backend.js';
import { sqlFieldsOf } from './sql-fields.js';
import { DEFAULT_LIMITS, type GuestLogLine, type Isolation, type Limits } from './wire.js';
import { workerBackend } from './worker-backend.js';

export type { Isolation };
const ISOLATIONS: readonly Isolation[] = ['process', 'worker', 'inline'];

/** Options of {@link loadExtension}. */
export interface LoadExtensionOptions {
  /** The extension's name. Default: the file name without `.wasm`; required when loading bytes. */
  name?: string;
  /** Directory of the `forge_ext_<name>.db` files. @default './data' */
  dataDir?: string;
  /** Directory of transpiled components, keyed by sha256. @default `<dataDir>/.cache` */
  cacheDir?: string;
  /** Configuration handed to the extension's `init`, as JSON. */
  config?: unknown;
  /**
   * `'process'`: the extension runs in its own child process, so any runaway call (WebAssembly
   * or SQL) is stopped at `limits.timeoutMs` and its memory is capped by the OS
   * (`limits.processMemoryMb`). `'worker'`: in its own worker thread: cheaper, but a running SQL
   * statement cannot be stopped. `'inline'`: on the calling thread, ~5-10x less overhead per
   * call than a worker, no deadline: trusted extensions only. See {@link Isolation}.
   * @default 'process'
   */
  isolation?: Isolation;
  /** Resource limits; each defaults to {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /**
   * Process and worker isolation: how many instances (each in its own process or thread, with
   * its own database connection) may run this extension's calls in parallel. Extra instances
   * start on first need and run `init` only. Each costs its own memory (a JavaScript guest
   * ~100 MiB busy, plus ~60 MiB for a process), and guest state kept in memory is per instance.
   * Ignored by `inline` isolation.
   * @default 1
   */
  workers?: number;
  /** Where the extension's log lines go, tagged `{ extension: name }`. @default a console logger for warn and error */
  logger?: Logger;
  /**
   * Aborts the load: a start in progress (an `init` or `migrate` that runs long) is stopped and
   * the load rejects with an {@link ExtensionLoadError} saying so. `ExtensionHost.close()` uses it.
   */
  signal?: AbortSignal;
  /**
   * @internal The host's: leave this version's migration uncommitted (its database's write lock
   * held, calls refused) until `extension.commitMigration()`; `extension.close()` rolls it back.
   * So a version the host then refuses (at composition) leaves no migration behind.
   * @default false: committed before `loadExtension` resolves
   */
  holdMigration?: boolean;
}

const compilers = new Map<string, ComponentCompiler>();
/** One compiler (and so one in-memory cache) per cache directory in this process. */
function compilerFor(cacheDir: string): ComponentCompiler {
  let compiler = compilers.get(cacheDir);
  if (!compiler) compilers.set(cacheDir, (compiler = new ComponentCompiler(cacheDir)));
  return compiler;
}

/**
 * Loads, sandboxes and starts one extension.
 *
 * ```ts
 * const ext = await loadExtension('./extensions/issues.wasm', { dataDir: './data' });
 * await ext.resolveField({ typeName: 'Query', fieldName: 'issues', arguments: { first: 10 } });
 * await ext.close();
 * ```
 */
export async function loadExtension(source: string | Uint8Array, options: LoadExtensionOptions = {}): Promise<Extension> {
  const file = typeof source === 'string' ? resolve(source) : undefined;
  const name = options.name ?? (file ? extensionNameFromFile(file) : undefined);
  if (name === undefined) throw new TypeError('loadExtension: options.name is required when loading bytes');
  try {
    assertExtensionName(name);
  } catch (e) {
    throw new ExtensionLoadError(name, 'validate', (e as Error).message);
  }
  const limits = resolveLimits(options.limits);
  checkIsolation(options.isolation, 'loadExtension: isolation');
  checkWorkers(options.workers, 'loadExtension: workers');
  const isolation = options.isolation ?? 'process';
  const workers = options.workers ?? 1;
  const dataDir = resolve(options.dataDir ?? './data');
  const logger = options.logger ?? consoleLogger();

  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? await readFile(source) : source;
  } catch (e) {
    throw new ExtensionLoadError(name, 'read', messageOf(e), { cause: e });
  }

  let compiled;
  try {
    compiled = await compilerFor(resolve(options.cacheDir ?? join(dataDir, '.cache'))).compile(bytes, limits.memoryMb * 2 ** 20, (message) =>
      logger.warn({ extension: name }, message),
    );
  } catch (e) {
    if (e instanceof CompileStepError) throw new ExtensionLoadError(name, e.step, e.message, { cause: e });
    throw new ExtensionLoadError(name, 'compile', messageOf(e), { cause: e });
  }

  let config: Uint8Array | undefined;
  try {
    config = options.config === undefined ? undefined : jsonBytes(options.config);
  } catch (e) {
    throw new ExtensionLoadError(name, 'init', `config is not JSON-serialisable: ${messageOf(e)}`);
  }

  const spec: BackendSpec = {
    name,
    glueUrl: compiled.glueUrl,
    modules: compiled.modules,
    coreModules: compiled.coreModules,
    memoryLimitBytes: compiled.memoryLimitBytes,
    maxResponseBytes: limits.maxResponseBytes,
    dataDir,
    timeoutMs: limits.timeoutMs,
    ...(config ? { config } : {}),
  };
  const log = ({ level, message, source: from }: GuestLogLine) => logger[level]({ extension: name, source: from }, message);
  const newBackend = (spec: BackendSpec): Backend =>
    isolation === 'inline' ? new InlineBackend(spec, log) : isolation === 'worker' ? workerBackend(spec, log) : processBackend({ ...spec, processMemoryMb: limits.processMemoryMb }, log);
  const backend = newBackend(spec);
  const { signal } = options;
  const abort = () => void backend.close();
  signal?.addEventListener('abort', abort, { once: true });
  const startFailed = (e: unknown) => {
    if (signal?.aborted) return new ExtensionLoadError(name, 'instantiate', 'the load was aborted (options.signal)', { cause: e });
    if (e instanceof StartError) return new ExtensionLoadError(name, e.step, e.failure.message, { cause: e });
    return new ExtensionLoadError(name, 'instantiate', messageOf(e), { cause: e });
  };
  // Held from before the start takes the database's write lock (migrate) until the version is
  // committed or closed: a write of the version serving meanwhile waits in the host, never in
  // SQLite's busy timeout under its call's deadline (migration-holds.ts).
  const path = databasePath(dataDir, name);
  const endHold = holdMigration(path);
  let sdl: string;
  try {
    if (signal?.aborted) throw new Error('aborted');
    sdl = await backend.start();
  } catch (e) {
    await backend.close();
    endHold();
    throw startFailed(e);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  // More instances only off the main thread: inline calls run one at a time on this thread.
  const more = isolation === 'inline' ? [] : Array.from({ length: workers - 1 }, () => newBackend({ ...spec, sdl }));
  const extension = new Extension({
    name,
    version: compiled.sha256,
    file,
    sdl,
    isolation,
    contractVersion: compiled.info.contractVersion,
    limits,
    backends: [backend, ...more],
    // The instance checked these declarations at start: they parse.
    sqlFields: sqlFieldsOf(sdl),
    databasePath: path,
    endHold,
    commit: async () => {
      try {
        await backend.commit();
      } catch (e) {
        await extension.close();
        throw startFailed(e);
      }
    },
  });
  extension.on('storage', (fault: StorageFault) =>
    logger.error({ extension: name, sqliteCode: fault.sqliteCode, storage: fault.kind }, `extension ${name}: ${fault.message}`),
  );
  if (!options.holdMigration) await extension.commitMigration();
  return extension;
}

/** Throws a TypeError (`<where> must be ...`) unless `value` is undefined or an {@link Isolation}. */
export function checkIsolation(value: unknown, where: string): void {
  if (value !== undefined && !ISOLATIONS.includes(value as Isolation)) {
    throw new TypeError(`${where} must be 'process', 'worker' or 'inline', not ${JSON.stringify(value)}`);
  }
}

/** Throws a TypeError unless `value` is undefined or a worker count from 1 to 64. */
export function checkWorkers(value: unknown, where: string): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 64)) {
    throw new TypeError(`${where} must be an integer from 1 to 64, not ${JSON.stringify(value)}`);
  }
}

/**
 * What an extension process commits beside the guest's linear memory, at the least: measured
 * ~150 MiB (VmData) for a JavaScript guest at rest. The default leaves twice that.
 */
const PROCESS_OVERHEAD_MB = 192;

/** Fills in defaults and rejects nonsense (a zero timeout, a negative cap). */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  // The process cap follows a raised memoryMb unless it is set itself.
  const processMemoryMb = Math.max(DEFAULT_LIMITS.processMemoryMb, (partial.memoryMb ?? DEFAULT_LIMITS.memoryMb) + 2 * PROCESS_OVERHEAD_MB);
  const limits = { ...DEFAULT_LIMITS, processMemoryMb, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`limits.${key} is not a known limit (${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`limits.${key} must be a positive number, not ${JSON.stringify(value)}`);
    }
  }
  if (limits.processMemoryMb < limits.memoryMb + PROCESS_OVERHEAD_MB) {
    throw new TypeError(
      `limits.processMemoryMb (${limits.processMemoryMb}) must be at least limits.memoryMb (${limits.memoryMb}) + ${PROCESS_OVERHEAD_MB}: the process needs room beside the guest's memory`,
    );
  }
  return limits;
}
