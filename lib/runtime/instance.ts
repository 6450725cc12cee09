/**
 * One running instance of an extension: the host imports it gets, its lifecycle, and every call
 * into it. The same code runs on the main thread (`isolation: 'inline'`), inside a worker
 * (`'worker'`) and in a child process (`'process'`); only who calls it differs.
 *
 * Calls are synchronous. A call that traps poisons a component instance ("cannot enter component
 * instance"), so after a trap the instance is dropped and the next call transparently creates a
 * fresh one and runs `init` again (migrations already ran for this version).
 */
import type { ExtensionDatabase } from '../data/database.js';
import { StorageFaultError } from '../data/storage-fault.js';
import { TransactionStateLost } from '../data/transaction-check.js';
import { createGuestLog } from './guest-log.js';
import { InstanceCallError, storageFailure } from './instance-call-error.js';
import { guestRequests, isGuestErr, type GuestExports, type InstanceSpec, type Instantiate } from './instance-spec.js';
import { NativeGuard } from './native-guard.js';
import { SqlFieldError, sqlFieldsOf } from './sql-fields.js';
import { SqlResolvers } from './sql-resolvers.js';
import { hostImports } from './host-imports.js';
import { withinAnswerBudgets } from './request-budget.js';
import type { CallFailure, GuestLogLine, JsonText, WireCall, WireRequest, WireResult } from './wire.js';

/** SpiderMonkey's message when an allocation fails. */
const OUT_OF_MEMORY = 'out of memory';

/** The `err` of a `Mutation` batch: rolls its transaction back. */
const ROLLBACK = Symbol('rollback');

/** One running instance (see the module doc); made by {@link GuestInstance.create}. */
export class GuestInstance {
  readonly #spec: InstanceSpec;
  readonly #db: ExtensionDatabase;
  readonly #instantiate: Instantiate;
  readonly #log: (line: GuestLogLine) => void;
  #exports: GuestExports | undefined;
  #memories: WebAssembly.Memory[] = [];
  /** Set once `init` succeeded: a re-created instance must be initialised again. */
  #initialized = false;
  /** The extension's SQL resolvers (see {@link useSqlResolvers}). */
  #sql: SqlResolvers | undefined;
  /** Marks native database code for worker isolation (a no-op elsewhere). */
  readonly #guard: NativeGuard;
  /**
   * A host cap the current call ran into (random bytes, process memory): the call's trap or
   * `err` is reported with its code rather than as a crash or the guest's own error.
   */
  #capHit: CallFailure | undefined;

  private constructor(spec: InstanceSpec, db: ExtensionDatabase, instantiate: Instantiate, log: (line: GuestLogLine) => void, guard: NativeGuard) {
    this.#spec = spec;
    this.#db = db;
    this.#instantiate = instantiate;
    this.#log = createGuestLog(log);
    this.#guard = guard;
  }

  /** Loads the glue and instantiates; does not call `init`. Throws {@link InstanceCallError}. */
  static async create(
    spec: InstanceSpec,
    db: ExtensionDatabase,
    log: (line: GuestLogLine) => void,
    guard = new NativeGuard(),
  ): Promise<GuestInstance> {
    const glue = (await import(spec.glueUrl)) as { instantiate: Instantiate };
    const instance = new GuestInstance(spec, db, glue.instantiate, log, guard);
    instance.#ensureInstance();
    return instance;
  }

  /** `init(config)`. `db-path` is the file's name (`forge_ext_<name>.db`), never a host path. */
  init(): void {
    this.#lifecycle('init', (g) =>
      this.#inDatabase('read', () => g.init({ name: this.#spec.name, dbPath: this.#db.fileName, config: this.#spec.config })),
    );
    this.#initialized = true;
  }

  /**
   * `migrate(db-path)` in one write transaction, rolled back on `err`, trap or storage fault, and
   * left open otherwise: {@link commitMigration} makes it stand (closing the database discards it).
   */
  migrate(inTransaction?: () => void): void {
    this.#lifecycle('migrate', (g) =>
      this.#inDatabase('writeUncommitted', () => {
        const temporary = this.#guard.native(() => this.#db.temporaryObjects());
        g.migrate(this.#db.fileName);
        // TEMP objects exist on this connection only: other instances of this version (a
        // restart, `workers` > 1) run `init`, never `migrate`, so what migrate made is dropped.
        this.#guard.native(() => this.#db.dropTemporaryObjects(temporary));
        inTransaction?.();
      }),
    );
  }

  /** Commits what {@link migrate} left open. Throws {@link InstanceCallError} (a storage fault, a lost transaction). */
  commitMigration(): void {
    try {
      this.#guard.native(() => this.#db.commit());
    } catch (e) {
      throw this.#crashed(e, 'migrate');
    }
  }

  /**
   * From now on, the `@sql` fields of `sdl` are resolved by their statements, not by the guest.
   * With `check` (a new version), the statements are first checked against the database: throws
   * {@link InstanceCallError} (`EXTENSION_ERROR`, the message naming `Type.field`) for one that does not fit.
   */
  useSqlResolvers(sdl: string, check: boolean): void {
    let sql: SqlResolvers;
    try {
      sql = new SqlResolvers(sqlFieldsOf(sdl));
      if (check) sql.check(this.#db, (fn) => this.#guard.native(fn));
    } catch (e) {
      if (e instanceof SqlFieldError) throw new InstanceCallError({ code: 'EXTENSION_ERROR', message: e.message });
      throw this.#crashed(e, 'the check of its SQL resolvers');
    }
    // Without any, the guest path stays exactly as it was.
    this.#sql = sql.empty ? undefined : sql;
  }

  /** `get-schema()`. */
  getSchema(): string {
    const sdl = this.#lifecycle('get-schema', (g) => this.#inDatabase('read', () => g.getSchema()));
    if (sdl.length > this.#spec.maxResponseBytes) {
      throw new InstanceCallError({ code: 'EXTENSION_RESPONSE_TOO_LARGE', message: `the schema is larger than ${this.#spec.maxResponseBytes} bytes` });
    }
    return sdl;
  }

  /**
   * Resolves `requests` in one call (`resolve-field` for one, `resolve-batch` for several).
   * `write` runs it in a transaction (a `Mutation` field): committed only if every result is `ok`.
   */
  resolve(call: WireCall): WireResult[] {
    const { requests, write } = call;
    this.#capHit = undefined;
    // Budgets apply before a write commits: an answer the client is refused must not stand.
    const run = (): WireResult[] => withinAnswerBudgets(this.#spec.name, call, this.#callResolve(requests));
    try {
      let results: WireResult[] = [];
      if (!write) results = this.#inDatabase('read', run);
      else {
        try {
          this.#inDatabase('write', () => {
            results = run();
            if (results.some((r) => 'err' in r)) throw ROLLBACK;
          });
        } catch (e) {
          if (e !== ROLLBACK) throw e;
        }
      }
      this.#throwStorageFault();
      return results;
    } catch (e) {
      throw this.#crashed(e);
    }
  }

  /**
   * A storage fault during the call fails the whole call, whatever the guest answered: it may
   * have caught the `err` its import got and answered from partial data.
   */
  #throwStorageFault(): void {
    const fault = this.#db.takeFault();
    if (fault) throw new InstanceCallError(storageFailure(fault));
  }

  /**
   * Answers `requests`: SQL resolvers run here, in the call's transaction; the rest go to the
   * guest (instantiated only if any do), in one call.
   */
  #callResolve(requests: WireRequest[]): WireResult[] {
    const sql = this.#sql;
    const guestIndices = sql ? requests.flatMap((r, i) => (sql.fieldOf(r) ? [] : [i])) : undefined;
    if (!sql || guestIndices!.length === requests.length) return this.#callGuest(this.#ensureInstance(), requests);
    const results: WireResult[] = new Array(requests.length);
    const sqlIndices = requests.flatMap((r, i) => (sql.fieldOf(r) ? [i] : []));
    sql.resolve(this.#db, (fn) => this.#guard.native(fn), requests, sqlIndices, results, 2 * this.#spec.maxResponseBytes);
    for (const i of sqlIndices) {
      const r = results[i]!;
      if ('ok' in r) results[i] = this.#checkSize(r.ok);
    }
    if (guestIndices!.length > 0) {
      const answers = this.#callGuest(this.#ensureInstance(), guestIndices!.map((i) => requests[i]!));
      guestIndices!.forEach((i, k) => (results[i] = answers[k]!));
    }
    return results;
  }

  #callGuest(guest: GuestExports, wire: WireRequest[]): WireResult[] {
    const requests = guestRequests(wire);
    if (requests.length === 1) {
      try {
        return [this.#checkSize(guest.resolveField(requests[0]!))];
      } catch (e) {
        if (isGuestErr(e)) return [this.#guestErr(String(e.payload))];
        throw e;
      }
    }
    const out = guest.resolveBatch(requests);
    if (out.length !== requests.length) {
      throw new InstanceCallError({
        code: 'EXTENSION_BAD_RESPONSE',
        message: `resolve-batch returned ${out.length} results for ${requests.length} requests`,
      });
    }
    return out.map((r) => (r.tag === 'ok' ? this.#checkSize(r.val) : this.#guestErr(r.val)));
  }

  /**
   * An `err` the guest answered. A JavaScript guest (SpiderMonkey) whose allocation fails at the
   * memory cap gets a catchable "out of memory" error, which it answers as this text: that is
   * the memory limit, reported as such.
   */
  #guestErr(message: string): WireResult {
    // An error message reaches the client like an answer: the same size limit, on its size as
    // the response's JSON holds it (a control character is six bytes there, `\u0001`).
    const bytes = Buffer.byteLength(JSON.stringify(message)) - 2;
    if (bytes > this.#spec.maxResponseBytes) {
      return { err: `the extension's error message is ${bytes} bytes, above the limit of ${this.#spec.maxResponseBytes} (limits.maxResponseBytes)`, code: 'EXTENSION_RESPONSE_TOO_LARGE' };
    }
    if (this.#capHit) return { err: `${this.#capHit.message} (the extension answered: ${message})`, code: this.#capHit.code };
    if (message === OUT_OF_MEMORY) return { err: this.#outOfMemory(), code: 'EXTENSION_MEMORY_LIMIT' };
    return { err: message, code: 'EXTENSION_ERROR' };
  }

  /**
   * Runs guest code `fn` inside a database transaction of `mode`: the transaction's own native
   * steps (begin, commit, rollback) are marked as native code, the guest's code in between not.
   */
  #inDatabase<T>(mode: 'read' | 'write' | 'writeUncommitted', fn: () => T): T {
    return this.#guard.native(() => this.#db[mode](() => this.#guard.guest(fn)));
  }

  #outOfMemory(step?: string): string {
    return `the extension ran out of memory at the limit of ${this.#spec.memoryLimitBytes / 2 ** 20} MiB (limits.memoryMb)${step ? ` during ${step}` : ''}`;
  }

  #checkSize(answer: JsonText): WireResult {
    const bytes = typeof answer === 'string' ? Buffer.byteLength(answer) : answer.length;
    if (bytes > this.#spec.maxResponseBytes) {
      return {
        err: `the answer is ${bytes} bytes, above the limit of ${this.#spec.maxResponseBytes} (limits.maxResponseBytes)`,
        code: 'EXTENSION_RESPONSE_TOO_LARGE',
      };
    }
    return { ok: answer };
  }

  /** Runs a lifecycle export: an `err` becomes EXTENSION_ERROR, a trap a crash. */
  #lifecycle<T>(step: string, fn: (guest: GuestExports) => T): T {
    const guest = this.#ensureInstance();
    this.#capHit = undefined;
    try {
      const result = fn(guest);
      this.#throwStorageFault();
      return result;
    } catch (e) {
      if (isGuestErr(e)) {
        this.#throwStorageFault();
        const { err, code } = this.#guestErr(String(e.payload)) as { err: string; code: CallFailure['code'] };
        throw new InstanceCallError({ code, message: err });
      }
      throw this.#crashed(e, step);
    }
  }

  /**
   * Describes a failed call: a storage fault or a lost transaction as such (the instance is
   * fine), anything else as a trap (the instance is dropped). A trap after a storage fault (a
   * guest that could not cope with the `err`) is reported as the storage fault.
   */
  #crashed(e: unknown, step?: string): InstanceCallError {
    // Taken whatever happened, so no fault outlives its call.
    const fault = e instanceof StorageFaultError ? (this.#db.takeFault(), e.fault) : this.#db.takeFault();
    const trapped = !(e instanceof InstanceCallError || e instanceof StorageFaultError || e instanceof TransactionStateLost);
    if (trapped) this.#exports = undefined;
    if (fault) return new InstanceCallError(storageFailure(fault));
    if (e instanceof InstanceCallError) return e;
    if (e instanceof TransactionStateLost) return new InstanceCallError({ code: 'EXTENSION_ERROR', message: e.message });
    if (this.#capHit) {
      this.#exports = undefined;
      return new InstanceCallError(this.#capHit);
    }
    const atLimit = this.#memories.some((m) => m.buffer.byteLength >= this.#spec.memoryLimitBytes * 0.9);
    const detail = e instanceof Error ? e.message : String(e);
    if (atLimit) return new InstanceCallError({ code: 'EXTENSION_MEMORY_LIMIT', message: this.#outOfMemory(step) });
    return new InstanceCallError({ code: 'EXTENSION_CRASHED', message: `the extension crashed${step ? ` during ${step}` : ''}: ${detail}` });
  }

  /** The live instance, re-created (with `init`) after a trap. */
  #ensureInstance(): GuestExports {
    if (this.#exports) return this.#exports;
    this.#memories = [];
    try {
      this.#exports = this.#instantiate(
        (file) => {
          const m = this.#spec.modules[file];
          if (!m) throw new Error(`the glue asked for an unknown core module ${file}`);
          return m;
        },
        hostImports({
          db: this.#db,
          log: this.#log,
          guard: this.#guard,
          processMemoryMb: this.#spec.processMemoryMb,
          capHit: (failure) => (this.#capHit = failure),
        }),
        (module, imports) => {
          const instance = new WebAssembly.Instance(module, imports);
          const memory = instance.exports['memory'];
          if (memory instanceof WebAssembly.Memory) this.#memories.push(memory);
          return instance;
        },
      );
    } catch (e) {
      throw new InstanceCallError({ code: 'EXTENSION_CRASHED', message: `instantiation failed: ${(e as Error).message}` });
    }
    if (this.#initialized) this.init();
    return this.#exports;
  }
}
