/**
 * A loaded extension: what the rest of the host talks to.
 *
 * Calls are queued and sent in as few wasm calls as possible: read requests made in the same
 * tick, or while every instance is busy with a previous call, go out together as one
 * `resolve-batch` of bounded size (see `call-queue.ts`; more go in the next call), so `limits.timeoutMs` is the deadline of a bounded
 * amount of work. Each write (a `Mutation` field) goes alone, in its own transaction. With
 * several instances (`workers` > 1), calls run on them in parallel. Requests and answers are
 * checked against the size limits and the request's budget; answers are parsed from JSON here,
 * large ones one per event-loop turn. A call of several requests that runs out of time or
 * memory runs again as one call per request, so each request is judged by its own call.
 *
 * A circuit breaker (see `breaker.ts` for what counts) guards the host from an extension that
 * keeps failing by its own fault: it then answers `EXTENSION_UNAVAILABLE` at once for a while.
 */
import { EventEmitter } from 'node:events';
import type { StorageFault } from '../data/storage-fault.js';
import { settleResults, type FieldErrors } from './answer-delivery.js';
import type { Backend } from './backend.js';
import { CircuitBreaker, CRASH_LIMIT, CRASH_WINDOW_MS, isOverLimit, isOwnFailure } from './breaker.js';
import { CallQueue, callOf, type Job, type Pending } from './call-queue.js';
import { ExtensionCallError, type ExtensionErrorCode } from './errors.js';
import type { CallOptions, ExtensionParts, ExtensionState, ExtensionStats, FieldRequest } from './extension-types.js';
import { FieldEncoder } from './field-encoder.js';
import { InstanceCallError } from './instance-call-error.js';
import { migrationHeld } from './migration-holds.js';
import { statementKey, type SqlField } from './sql-fields.js';
import type { Isolation, Limits, WireResult } from './wire.js';

export { CRASH_LIMIT, CRASH_WINDOW_MS, FAILED_BACKOFF_MS } from './breaker.js';
export { MAX_BATCH_FIELDS, MAX_BATCH_REQUEST_BYTES, MAX_CALL_FIELDS } from './call-queue.js';
export type { CallOptions, ExtensionParts, ExtensionState, ExtensionStats, FieldRequest } from './extension-types.js';

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
  /**
   * The fields its SDL declares with `@sql`, by `Type.field` (its own type names): the host runs
   * their statements in the extension's isolation, no guest code (see sql-fields.ts).
   */
  readonly sqlFields: ReadonlyMap<string, SqlField>;
  readonly stats: ExtensionStats = { calls: 0, fields: 0, crashes: 0, timeouts: 0, refused: 0 };

  readonly #backends: Backend[];
  /** Instances not running a call now. */
  readonly #idle: Backend[];
  readonly #queue = new CallQueue();
  #flushScheduled = false;
  /** Set until the migration its start left open is committed: calls are refused meanwhile. */
  #commit: (() => Promise<void>) | undefined;
  /** Ends this version's hold on its database (see migration-holds.ts): at commit or close. */
  readonly #endHold: () => void;
  readonly #databasePath: string | undefined;
  #state: ExtensionState = 'ready';
  #stateReason: string | undefined;
  readonly #breaker = new CircuitBreaker();
  readonly #encoder: FieldEncoder;
  readonly #fieldErrors: FieldErrors = { error: (code, message) => this.#error(code, message), refuse: (message) => this.#refuse(message) };

  constructor(parts: ExtensionParts) {
    super();
    this.name = parts.name;
    this.version = parts.version;
    this.file = parts.file;
    this.sdl = parts.sdl;
    this.isolation = parts.isolation;
    this.contractVersion = parts.contractVersion;
    this.limits = parts.limits;
    this.sqlFields = parts.sqlFields ?? new Map();
    this.#backends = parts.backends;
    this.#idle = [...parts.backends].reverse();
    this.#encoder = new FieldEncoder(parts.name, parts.limits);
    this.#commit = parts.commit;
    this.#databasePath = parts.databasePath;
    this.#endHold = parts.endHold ?? (() => {});
  }

  /**
   * @internal Makes this version's migration stand (see `LoadExtensionOptions.holdMigration`);
   * until then calls fail with `EXTENSION_UNAVAILABLE`. Rejects with an `ExtensionLoadError`
   * (step `migrate`), the extension closed and its migration rolled back.
   */
  async commitMigration(): Promise<void> {
    const commit = this.#commit;
    try {
      await commit?.();
    } finally {
      this.#endHold();
    }
    this.#commit = undefined;
  }

  /** `'failed'` while the circuit breaker is open; `'closed'` after {@link close}. */
  get state(): ExtensionState {
    if (this.#state === 'failed' && Date.now() >= this.#breaker.openUntil) this.#recover();
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
    for (const p of this.#queue.drain()) p.reject(this.#error('EXTENSION_UNAVAILABLE', this.#stateReason));
    try {
      await Promise.all(this.#backends.map((b) => b.close()));
    } finally {
      this.#endHold(); // its connection closed: a migration it held is rolled back
    }
  }

  #enqueue(request: FieldRequest, write: boolean, resolve: (v: unknown) => void, reject: (e: ExtensionCallError) => void): void {
    const state = this.state;
    if (this.#commit && state === 'ready') return reject(this.#error('EXTENSION_UNAVAILABLE', `extension "${this.name}" is not accepted yet: its migration is not committed`));
    if (state !== 'ready') {
      return reject(this.#error('EXTENSION_UNAVAILABLE', `extension "${this.name}" is ${state}: ${this.#stateReason}`));
    }
    // A new version holds a migration on this database: the write waits here, not in SQLite.
    const held = write && this.#databasePath !== undefined ? migrationHeld(this.#databasePath) : undefined;
    if (held) return void held.then(() => this.#enqueue(request, write, resolve, reject));
    const refusal = request.budget?.chargeField();
    if (refusal) return reject(this.#refuse(refusal));
    let pending: Pending;
    try {
      const { wire, bytes } = this.#encoder.encode(request);
      const statement = this.sqlFields.has(`${wire.typeName}.${wire.fieldName}`) ? statementKey(wire) : undefined;
      pending = { wire, bytes, budget: request.budget, resolve, reject, ...(statement === undefined ? {} : { statement }) };
    } catch (e) {
      return reject(e as ExtensionCallError);
    }
    this.#queue.push(pending, write);
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
      const job = this.#queue.next()!;
      void this.#run(job, backend).finally(() => {
        this.#idle.push(backend);
        this.#pump();
      });
    }
  }

  async #run(job: Job, backend: Backend): Promise<void> {
    // A field whose request spent its budget while it waited is not sent.
    const items = job.items.filter((p) => {
      if (p.budget?.spent) p.reject(this.#refuse(p.budget.spent));
      return !p.budget?.spent;
    });
    if (items.length === 0) return;
    this.stats.calls++;
    let results: WireResult[];
    try {
      results = await backend.resolve(callOf(items, job.write));
    } catch (e) {
      const failure = e instanceof InstanceCallError ? e.failure : { code: 'EXTENSION_CRASHED' as const, message: String(e) };
      if (failure.storage) this.#storageFault(failure.storage);
      // Out of time or memory with several requests in the call: each runs again alone (call-queue.ts).
      const failed = job.retry || !isOverLimit(failure.code) ? items : this.#queue.retryEachAlone(items);
      for (const p of failed) p.reject(this.#error(failure.code, failure.message));
      if (isOverLimit(failure.code)) {
        // That request asked more than one call can do: its fields still queued are not sent.
        for (const p of failed) p.budget?.spend(`not sent: a call with this request's fields failed (${failure.message})`);
      }
      // What counts is the size of the call, not of the request that fails with it: a call of
      // many one-field requests is client-shaped load (their retries, alone, are judged alone).
      this.#recordFailure(failure.code, failure.message, items.length);
      return;
    }
    // SQL resolver fields refused by the bytes the call's statements share: another request's
    // statement may have spent them (retryEachAlone).
    const shared = job.retry ? [] : items.filter((_, i) => 'callBytes' in results[i]!);
    if (shared.length > 0 && this.#queue.retryEachAlone(shared, items).length === 0) {
      const settled = items.flatMap((_, i) => ('callBytes' in results[i]! ? [] : [i]));
      return this.#settle(settled.map((i) => items[i]!), settled.map((i) => results[i]!));
    }
    this.#settle(items, results);
  }

  #settle(items: Pending[], results: WireResult[]): void {
    this.stats.fields += results.length;
    // Budgets are charged now; parsing follows after the instance is free (answer-delivery.ts).
    settleResults(items, results, this.#fieldErrors);
  }

  /** A whole call failed: counted in the stats, and against the extension if it is its own fault. */
  #recordFailure(code: ExtensionErrorCode, message: string, fields: number): void {
    if (code === 'EXTENSION_TIMEOUT') this.stats.timeouts++;
    else if (code === 'EXTENSION_CRASHED' || code === 'EXTENSION_MEMORY_LIMIT' || code === 'EXTENSION_PROCESS_MEMORY_LIMIT' || code === 'EXTENSION_RANDOM_BYTES_LIMIT') this.stats.crashes++;
    else return;
    this.emit('crash', { code, message });
    if (!isOwnFailure(code, fields) || this.#state !== 'ready' || !this.#breaker.record()) return;
    this.#state = 'failed';
    this.#stateReason = `${CRASH_LIMIT} failures within ${CRASH_WINDOW_MS / 1000} s, last: ${message}`;
    this.emit('failed', { reason: this.#stateReason, until: new Date(this.#breaker.openUntil) });
  }

  /**
   * A storage fault is reported (`'storage'` event), not counted as a crash. A damaged file
   * stops the extension for good (`'failed'`, no automatic recovery): it gets no more calls, so
   * no more writes, until it is repaired and reloaded.
   */
  #storageFault(fault: StorageFault): void {
    this.emit('storage', fault);
    if (fault.kind !== 'corrupt' || this.#state === 'closed' || this.#breaker.openUntil === Infinity) return;
    this.#state = 'failed';
    this.#stateReason = fault.message;
    this.#breaker.openUntil = Infinity;
    this.emit('failed', { reason: fault.message, until: undefined });
  }

  #recover(): void {
    this.#state = 'ready';
    this.#stateReason = undefined;
    this.#breaker.reset();
    this.emit('recovered');
  }

  /** A field refused by its request's budget: counted, never held against the extension. */
  #refuse(message: string): ExtensionCallError {
    this.stats.refused++;
    return this.#error('EXTENSION_REQUEST_BUDGET', message);
  }

  #error(code: ExtensionErrorCode, message: string): ExtensionCallError {
    return new ExtensionCallError(code, this.name, message);
  }
}
