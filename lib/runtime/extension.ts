/**
 * A loaded extension: what the rest of the host talks to.
 *
 * Calls are queued and sent in as few wasm calls as possible: read requests made in the same
 * tick, or while every instance is busy with a previous call, go out together as one
 * `resolve-batch`; each write (a `Mutation` field) goes alone, in its own transaction. With
 * several instances (`workers` > 1), calls run on them in parallel. Requests and answers are
 * checked against the size limits; answers are parsed from JSON here.
 *
 * A circuit breaker guards the host from an extension that keeps crashing: after
 * {@link CRASH_LIMIT} crashes, timeouts or memory-limit hits within {@link CRASH_WINDOW_MS}, the
 * extension answers `EXTENSION_UNAVAILABLE` at once for {@link FAILED_BACKOFF_MS}, then tries again.
 */
import { EventEmitter } from 'node:events';
import { jsonBytes } from '../data/json-values.js';
import type { StorageFault } from '../data/storage-fault.js';
import type { Backend } from './backend.js';
import { ExtensionCallError, type ExtensionErrorCode } from './errors.js';
import { InstanceCallError } from './instance.js';
import type { Isolation, Limits, WireRequest, WireResult } from './wire.js';

export const CRASH_LIMIT = 5;
export const CRASH_WINDOW_MS = 30_000;
export const FAILED_BACKOFF_MS = 60_000;
/** Most requests sent in one `resolve-batch`; more wait for the next call. */
const MAX_BATCH = 1024;

/** One field for an extension to resolve. */
export interface FieldRequest {
  /** The parent type as the extension's SDL names it (`Query`, `Issue`, ...). */
  typeName: string;
  fieldName: string;
  /** The field's arguments. @default {} */
  arguments?: Record<string, unknown>;
  /** The parent object; leave undefined for root fields. Must be JSON-serialisable. */
  parent?: unknown;
  /** The request context the application chose. @default {} */
  context?: Record<string, unknown>;
}

/** Options of a call. */
export interface CallOptions {
  /** Run in a write transaction (a `Mutation` field): committed only if the answer is `ok`. */
  write?: boolean;
}

/** Whether the extension serves calls. */
export type ExtensionState = 'ready' | 'failed' | 'closed';

/** Counters, for status pages and tests. */
export interface ExtensionStats {
  /** wasm calls made (one `resolve-batch` is one call). */
  calls: number;
  /** Fields resolved (requests answered, `ok` or `err`). */
  fields: number;
  crashes: number;
  timeouts: number;
}

interface Pending {
  wire: WireRequest;
  resolve: (value: unknown) => void;
  reject: (error: ExtensionCallError) => void;
}
interface Job {
  write: boolean;
  items: Pending[];
}

/** What {@link Extension} is made from (see `loadExtension`). */
export interface ExtensionParts {
  name: string;
  version: string;
  file: string | undefined;
  sdl: string;
  isolation: Isolation;
  contractVersion: string;
  limits: Limits;
  /** The started instance, and (worker isolation) more of them, started on first use. */
  backends: Backend[];
}

/**
 * A running extension. Events: `'crash'` (`{ code, message }`) after each crash, timeout or
 * memory-limit hit; `'storage'` ({@link StorageFault}) after each call failed by its database
 * file or disk (`EXTENSION_STORAGE`); `'failed'` (`{ reason, until }`) when the circuit breaker
 * opens (`until` a `Date`) or its database file is found damaged (`until` undefined: for good);
 * `'recovered'` when the breaker closes.
 */
export class Extension extends EventEmitter {
  /** The extension's name (from its file name). */
  readonly name: string;
  /** sha256 of the component's bytes. */
  readonly version: string;
  /** The file it was loaded from, if any. */
  readonly file: string | undefined;
  /** Its GraphQL SDL, as `get-schema` returned it. */
  readonly sdl: string;
  readonly isolation: Isolation;
  /** The `forge:extension` contract version it was built against. */
  readonly contractVersion: string;
  readonly limits: Readonly<Limits>;
  readonly stats: ExtensionStats = { calls: 0, fields: 0, crashes: 0, timeouts: 0 };

  readonly #backends: Backend[];
  /** Instances not running a call now. */
  readonly #idle: Backend[];
  readonly #queue: Job[] = [];
  #flushScheduled = false;
  #state: ExtensionState = 'ready';
  #stateReason: string | undefined;
  #crashTimes: number[] = [];
  #failedUntil = 0;
  readonly #contexts = new WeakMap<object, Uint8Array>();

  constructor(parts: ExtensionParts) {
    super();
    this.name = parts.name;
    this.version = parts.version;
    this.file = parts.file;
    this.sdl = parts.sdl;
    this.isolation = parts.isolation;
    this.contractVersion = parts.contractVersion;
    this.limits = parts.limits;
    this.#backends = parts.backends;
    this.#idle = [...parts.backends].reverse();
  }

  /** `'failed'` while the circuit breaker is open; `'closed'` after {@link close}. */
  get state(): ExtensionState {
    if (this.#state === 'failed' && Date.now() >= this.#failedUntil) this.#recover();
    return this.#state;
  }

  /** Why the extension is `failed` (its last crash), if it is. */
  get stateReason(): string | undefined {
    return this.state === 'ready' ? undefined : this.#stateReason;
  }

  /** Resolves one field. Rejects with an {@link ExtensionCallError}. */
  resolveField(request: FieldRequest, options: CallOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => this.#enqueue(request, options.write === true, resolve, reject));
  }

  /**
   * Resolves several fields in one call (when they fit one batch); each entry settles on its own,
   * like `Promise.allSettled`.
   */
  resolveBatch(requests: FieldRequest[]): Promise<PromiseSettledResult<unknown>[]> {
    return Promise.allSettled(requests.map((r) => this.resolveField(r)));
  }

  /** Stops serving: pending calls fail with `EXTENSION_UNAVAILABLE`; the database closes. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stateReason = 'the extension was closed';
    for (const job of this.#queue.splice(0)) this.#failJob(job, 'EXTENSION_UNAVAILABLE', this.#stateReason);
    await Promise.all(this.#backends.map((b) => b.close()));
  }

  #enqueue(request: FieldRequest, write: boolean, resolve: (v: unknown) => void, reject: (e: ExtensionCallError) => void): void {
    const state = this.state;
    if (state !== 'ready') {
      return reject(this.#error('EXTENSION_UNAVAILABLE', `extension "${this.name}" is ${state}: ${this.#stateReason}`));
    }
    let wire: WireRequest;
    try {
      wire = this.#encode(request);
    } catch (e) {
      return reject(e as ExtensionCallError);
    }
    const last = this.#queue[this.#queue.length - 1];
    const pending = { wire, resolve, reject };
    if (!write && last && !last.write && last.items.length < MAX_BATCH) last.items.push(pending);
    else this.#queue.push({ write, items: [pending] });
    this.#scheduleFlush();
  }

  /**
   * Waits until the current tick's resolvers have all run (as DataLoader does: a resolved
   * promise, then `nextTick`), so every field GraphQL asks for in one pass joins one batch.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#idle.length === 0) return;
    this.#flushScheduled = true;
    void Promise.resolve().then(() =>
      process.nextTick(() => {
        this.#flushScheduled = false;
        this.#pump();
      }),
    );
  }

  /** Starts the queued jobs on idle instances; each finished call pumps again. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#idle.length > 0) {
      const backend = this.#idle.pop()!;
      const job = this.#queue.shift()!;
      void this.#run(job, backend).finally(() => {
        this.#idle.push(backend);
        this.#pump();
      });
    }
  }

  async #run(job: Job, backend: Backend): Promise<void> {
    this.stats.calls++;
    let results: WireResult[];
    try {
      results = await backend.resolve(job.items.map((p) => p.wire), job.write);
    } catch (e) {
      const failure = e instanceof InstanceCallError ? e.failure : { code: 'EXTENSION_CRASHED' as const, message: String(e) };
      this.#failJob(job, failure.code, failure.message);
      if (failure.storage) this.#storageFault(failure.storage);
      this.#recordCrash(failure.code, failure.message);
      return;
    }
    this.stats.fields += results.length;
    job.items.forEach((p, i) => {
      const r = results[i]!;
      if ('err' in r) return p.reject(this.#error(r.code, r.err));
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(r.ok));
      } catch (e) {
        return p.reject(this.#error('EXTENSION_BAD_RESPONSE', `the answer is not valid UTF-8 JSON: ${(e as Error).message}`));
      }
      p.resolve(value);
    });
  }

  #failJob(job: Job, code: ExtensionErrorCode, message: string): void {
    for (const p of job.items) p.reject(this.#error(code, message));
  }

  #recordCrash(code: ExtensionErrorCode, message: string): void {
    if (code === 'EXTENSION_TIMEOUT') this.stats.timeouts++;
    else if (code === 'EXTENSION_CRASHED' || code === 'EXTENSION_MEMORY_LIMIT' || code === 'EXTENSION_PROCESS_MEMORY_LIMIT' || code === 'EXTENSION_RANDOM_BYTES_LIMIT') this.stats.crashes++;
    else return;
    this.emit('crash', { code, message });
    const now = Date.now();
    this.#crashTimes = this.#crashTimes.filter((t) => now - t < CRASH_WINDOW_MS);
    this.#crashTimes.push(now);
    if (this.#crashTimes.length >= CRASH_LIMIT && this.#state === 'ready') {
      this.#state = 'failed';
      this.#stateReason = `${CRASH_LIMIT} failures within ${CRASH_WINDOW_MS / 1000} s, last: ${message}`;
      this.#failedUntil = now + FAILED_BACKOFF_MS;
      this.emit('failed', { reason: this.#stateReason, until: new Date(this.#failedUntil) });
    }
  }

  /**
   * A storage fault is reported (`'storage'` event), not counted as a crash. A damaged file
   * stops the extension for good (`'failed'`, no automatic recovery): it gets no more calls, so
   * no more writes, until it is repaired and reloaded.
   */
  #storageFault(fault: StorageFault): void {
    this.emit('storage', fault);
    if (fault.kind !== 'corrupt' || this.#state === 'closed' || this.#failedUntil === Infinity) return;
    this.#state = 'failed';
    this.#stateReason = fault.message;
    this.#failedUntil = Infinity;
    this.emit('failed', { reason: fault.message, until: undefined });
  }

  #recover(): void {
    this.#state = 'ready';
    this.#stateReason = undefined;
    this.#crashTimes = [];
    this.emit('recovered');
  }

  #encode(request: FieldRequest): WireRequest {
    let parent: Uint8Array | undefined;
    let args: Uint8Array;
    try {
      args = jsonBytes(request.arguments ?? {});
      parent = request.parent === undefined ? undefined : jsonBytes(request.parent);
    } catch (e) {
      throw new TypeError(`${request.typeName}.${request.fieldName}: the parent or arguments are not JSON-serialisable: ${(e as Error).message}`);
    }
    const context = this.#contextBytes(request.context ?? EMPTY);
    const size = args.length + (parent?.length ?? 0) + context.length;
    if (size > this.limits.maxRequestBytes) {
      throw this.#error(
        'EXTENSION_REQUEST_TOO_LARGE',
        `the request for ${request.typeName}.${request.fieldName} is ${size} bytes, above the limit of ${this.limits.maxRequestBytes} (limits.maxRequestBytes)`,
      );
    }
    return { typeName: request.typeName, fieldName: request.fieldName, arguments: args, context, ...(parent ? { parent } : {}) };
  }

  /** One request's context serves all its fields: encode it once. */
  #contextBytes(context: object): Uint8Array {
    let bytes = this.#contexts.get(context);
    if (!bytes) {
      bytes = jsonBytes(context);
      this.#contexts.set(context, bytes);
    }
    return bytes;
  }

  #error(code: ExtensionErrorCode, message: string): ExtensionCallError {
    return new ExtensionCallError(code, this.name, message);
  }
}

const EMPTY = Object.freeze({});
const decoder = new TextDecoder('utf-8', { fatal: true });
