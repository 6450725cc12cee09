/**
 * The host side of the `database` import: one better-sqlite3 connection on one extension's
 * own file.
 *
 * - The file is `<dataDir>/forge_ext_<name>.db`, in WAL mode, so a new version of an extension
 *   can migrate while the old one still reads. The extension learns only the file's name.
 * - Between writes the connection is `query_only`: a `Query` field cannot write. Writes happen
 *   only inside {@link ExtensionDatabase.write}, which the runtime wraps around `migrate` and
 *   around each `Mutation` field: one transaction, committed when the call succeeds, rolled back
 *   on an `err`, a trap, or a worker being stopped (an unfinished transaction never reaches the
 *   file).
 * - Every statement passes the SQL sandbox ({@link assertSqlAllowed}), then SQLite's own compiled
 *   program is checked for transaction control ({@link assertNoTransactionControl}), before it
 *   runs. After every call the host checks its transaction (or read-only state) is still there.
 * - Storage faults (disk full, I/O error, corruption) are recorded ({@link takeFault}) whatever
 *   the guest does with the `err` it gets; a corrupt database gets no further write.
 */
import { mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import Database from 'better-sqlite3';
import { databasePath } from './names.js';
import { assertSqlAllowed } from './sql-guard.js';
import { splitStatements } from './sql-tokens.js';
import { StatementCache } from './statement-cache.js';
import type { DatabaseOptions } from './database-options.js';
import { bindArguments, jsonBytes, parseParams, toJsonInteger, toJsonRow, toJsonRows, type BoundParams, type RowsTooLargeError } from './json-values.js';
import { integrityFault, storageFaultOf, StorageFaultError, StorageFaultLog, type StorageFault } from './storage-fault.js';
import { assertNoTransactionControl, TransactionStateLost } from './transaction-check.js';

type Statement = Database.Statement<unknown[], unknown>;

const TRANSACTION_ENDED =
  "this ended the host's transaction (an OR ROLLBACK conflict, ON CONFLICT ROLLBACK or RAISE(ROLLBACK)): everything this call wrote is rolled back and the call fails";
const TRANSACTION_ENDED_EARLIER = `refused: a statement earlier in this call ended the host's transaction; no statement runs until the call ends, and the call fails`;
/** A prepared statement and its parameters by index (how an array binds). */
interface Prepared {
  stmt: Statement;
  parameters: Array<string | null>;
}

/** One extension's database connection. Errors are thrown as `Error`s with SQLite's message. */
export class ExtensionDatabase {
  /** Absolute path of the SQLite file (host-only: never handed to the extension). */
  readonly path: string;
  /** The file's name, `forge_ext_<name>.db`: what the extension is told as `db-path`. */
  readonly fileName: string;
  readonly #db: Database.Database;
  readonly #statements: StatementCache<Prepared>;
  #writing = false;
  /** Set when the host's transaction ended inside a write (see {@link #statement}). */
  #transactionLost = false;
  /** The storage faults seen: the last since {@link takeFault}, and whether the file is damaged. */
  readonly #faults = new StorageFaultLog();

  /** Opens (creating) the file. Throws {@link StorageFaultError} for a damaged or unreadable file. */
  constructor(dataDir: string, name: string, options: DatabaseOptions = {}) {
    this.path = databasePath(dataDir, name);
    this.fileName = basename(this.path);
    this.#statements = new StatementCache(options.statementCacheSize ?? 256);
    mkdirSync(dataDir, { recursive: true });
    this.#db = this.#sqlite(() => new Database(this.path));
    try {
      this.#sqlite(() => {
        this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
        if (options.verifyIntegrity) this.#quickCheck();
        this.#db.pragma('journal_mode = WAL');
        // Temporary tables and sort spills stay in memory: no file outside dataDir, ever.
        this.#db.pragma('temp_store = MEMORY');
        // Foreign keys are enforced on every connection (the host's setting, not the extension's).
        this.#db.pragma('foreign_keys = ON');
        this.#db.pragma('query_only = ON');
      });
    } catch (e) {
      this.#db.close();
      throw e;
    }
  }

  /** Runs one statement and returns its rows as JSON bytes (`[{...}, ...]`). */
  query(sql: string, params: Uint8Array): Uint8Array {
    const result = this.run(sql, parseParams(params));
    return jsonBytes('rows' in result ? result.rows : []);
  }

  /**
   * Runs one statement with `params` (see `bindArguments`): the rows, JSON-ready (see
   * json-values.ts), of a statement that returns data, else how many rows it changed. What the
   * `query` import and the host's SQL resolvers both run. With `maxBytes`, rows are read one at
   * a time and the statement is stopped with {@link RowsTooLargeError} once their JSON size
   * would pass it ({@link toJsonRows}).
   */
  run(sql: string, params: BoundParams, maxBytes?: number): { rows: Record<string, unknown>[]; bytes?: number } | { changes: number } {
    const { stmt, parameters } = this.#prepare(sql);
    const args = bindArguments(params, parameters);
    if (!stmt.reader) return { changes: this.#run(stmt, args).changes };
    if (maxBytes === undefined) {
      const rows = this.#statement(() => stmt.all(...args) as Record<string, unknown>[]);
      for (const row of rows) toJsonRow(row);
      return { rows };
    }
    return this.#statement(() => toJsonRows(stmt.iterate(...args) as IterableIterator<Record<string, unknown>>, maxBytes));
  }

  /**
   * Prepares (and checks, as any statement) `sql` without running it: its result columns' names
   * (undefined for a statement that returns no data), its parameters by SQLite's index (see
   * `SqlStatement.parameters`), and whether it only reads (`sqlite3_stmt_readonly`).
   */
  describe(sql: string): { columns: string[] | undefined; parameters: ReadonlyArray<string | null>; readonly: boolean } {
    const { stmt, parameters } = this.#prepare(sql);
    const columns = stmt.reader ? this.#sqlite(() => stmt.columns().map((c) => c.name)) : undefined;
    return { columns, parameters, readonly: stmt.readonly };
  }

  /** Runs one statement and returns `{"changes":n,"lastInsertRowid":n}` as JSON bytes. */
  execute(sql: string, params: Uint8Array): Uint8Array {
    const { stmt, parameters } = this.#prepare(sql);
    const info = this.#run(stmt, bindArguments(parseParams(params), parameters));
    return jsonBytes({
      changes: info.changes,
      lastInsertRowid: typeof info.lastInsertRowid === 'bigint' ? toJsonInteger(info.lastInsertRowid) : info.lastInsertRowid,
    });
  }

  /**
   * Runs several `;`-separated statements without parameters, one at a time, each checked like
   * a single statement. SQLite confirms the split: a piece that is not exactly one statement is
   * refused before it runs.
   */
  executeBatch(sql: string): void {
    assertSqlAllowed(sql);
    for (const { text } of splitStatements(sql)) {
      const stmt = this.#compile(text);
      if (stmt.reader) this.#statement(() => stmt.all());
      else this.#run(stmt, []);
    }
  }

  /**
   * Runs `fn` in one write transaction: committed if `fn` returns, rolled back if it throws, if a
   * storage fault happened meanwhile (even one the guest caught), or if the transaction is no
   * longer open when `fn` returns. Nested calls join the outer transaction. A damaged database
   * refuses at once.
   */
  write<T>(fn: () => T): T {
    if (this.#writing) return fn();
    const result = this.writeUncommitted(fn);
    this.commit();
    return result;
  }

  /**
   * Like {@link write}, but a transaction that `fn` leaves fit to commit stays open: {@link commit}
   * ends it, {@link rollback} or {@link close} discards it. Until then every call joins it. Used
   * for `migrate`: a new version's migration stands only once the host accepts the version.
   */
  writeUncommitted<T>(fn: () => T): T {
    if (this.#writing) return fn();
    if (this.#faults.corrupt) throw new StorageFaultError(this.#faults.corrupt);
    this.#db.pragma('query_only = OFF');
    this.#writing = true;
    this.#transactionLost = false;
    try {
      this.#sqlite(() => this.#db.exec('BEGIN IMMEDIATE'));
      const result = fn();
      this.#assertCommittable();
      return result;
    } catch (e) {
      this.rollback();
      throw e;
    }
  }

  /**
   * Commits the transaction {@link writeUncommitted} left open (nothing if none is). Throws
   * {@link StorageFaultError} or {@link TransactionStateLost}, the transaction rolled back.
   */
  commit(): void {
    if (!this.#writing) return;
    try {
      this.#assertCommittable();
      this.#sqlite(() => this.#db.exec('COMMIT'));
    } catch (e) {
      this.rollback();
      throw e;
    }
    this.#endWrite();
  }

  /** Rolls back the transaction {@link writeUncommitted} left open (nothing if none is). */
  rollback(): void {
    if (!this.#writing) return;
    if (this.#db.inTransaction) this.#rollback();
    this.#endWrite();
  }

  /** A storage fault since the transaction began, or a transaction no longer open, forbids the commit. */
  #assertCommittable(): void {
    if (this.#faults.last) throw new StorageFaultError(this.#faults.last);
    if (!this.#db.inTransaction) throw new TransactionStateLost("the host's transaction ended during the call; the call failed");
  }

  #endWrite(): void {
    this.#writing = false;
    this.#db.pragma('query_only = ON');
  }

  /**
   * Runs `fn` read-only, then checks the connection is as the host left it: no transaction open
   * (a guest's unreleased `SAVEPOINT` is rolled back) and still `query_only`. A changed
   * `query_only` is restored and fails the call with {@link TransactionStateLost}.
   */
  read<T>(fn: () => T): T {
    // (Read back with a fresh `PRAGMA`, ~8 µs: SQLite sets flag pragmas when it *compiles* them,
    // so a statement prepared once would report the value at its compile time.)
    if (this.#writing) return fn();
    try {
      return fn();
    } finally {
      if (this.#db.inTransaction) this.#rollback();
      if (this.#db.pragma('query_only', { simple: true }) !== 1) {
        this.#db.pragma('query_only = ON');
        // Thrown from `finally` on purpose: the call's result must not be used.
        throw new TransactionStateLost('the read-only state the host set up was changed during the call; the call failed');
      }
    }
  }

  /** The connection's TEMP tables, views and triggers (`type name`): only this connection has them. */
  temporaryObjects(): Set<string> {
    const rows = this.#sqlite(() => this.#db.prepare("SELECT type, name FROM sqlite_temp_schema WHERE type IN ('table', 'view', 'trigger')").all()) as Array<{ type: string; name: string }>;
    return new Set(rows.map((r) => `${r.type} ${r.name}`));
  }

  /** Drops the TEMP tables, views and triggers not in `keep` (see {@link temporaryObjects}). */
  dropTemporaryObjects(keep: ReadonlySet<string>): void {
    for (const object of this.temporaryObjects()) {
      if (keep.has(object)) continue;
      const [type, ...name] = object.split(' ');
      this.#sqlite(() => this.#db.exec(`DROP ${type!.toUpperCase()} IF EXISTS temp."${name.join(' ').replaceAll('"', '""')}"`));
    }
  }

  /** The storage fault seen since the last call of this method, if any (and forgets it). */
  takeFault(): StorageFault | undefined {
    return this.#faults.take();
  }

  /** Closes the connection. Uncommitted work is rolled back by SQLite. */
  close(): void {
    this.#statements.clear();
    if (this.#db.open) this.#db.close();
  }

  #quickCheck(): void {
    const rows = this.#db.pragma('quick_check') as Array<{ quick_check: string }>;
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0) this.#faults.record(integrityFault(problems, this.path));
    if (this.#faults.corrupt) throw new StorageFaultError(this.#faults.corrupt);
  }

  #prepare(sql: string): Prepared {
    const cached = this.#statements.get(sql);
    if (cached) return cached;
    assertSqlAllowed(sql);
    const [only] = splitStatements(sql);
    const prepared = { stmt: this.#compile(sql), parameters: only?.parameters ?? [] };
    this.#statements.set(sql, prepared);
    return prepared;
  }

  /** Prepares one statement (better-sqlite3 refuses more than one) and checks its program. */
  #compile(sql: string): Statement {
    const stmt = this.#sqlite(() => this.#db.prepare(sql));
    assertNoTransactionControl(this.#db, sql);
    stmt.safeIntegers(true);
    return stmt;
  }

  #run(stmt: Statement, args: unknown[]): Database.RunResult {
    return this.#statement(() => stmt.run(...args));
  }

  /**
   * Runs one of the extension's statements. In a write, SQLite itself can end the host's
   * transaction without any transaction-control statement: an `INSERT OR ROLLBACK` (or a table's
   * `ON CONFLICT ROLLBACK`) that hits a conflict, a trigger's `RAISE(ROLLBACK, ...)`. Then every
   * later statement would run in autocommit mode and commit at once, whatever the call answers.
   * So the transaction is checked after each statement, and once it is gone no statement of the
   * call runs: the call fails with {@link TransactionStateLost} and nothing of it is committed.
   */
  #statement<T>(fn: () => T): T {
    if (!this.#writing) return this.#sqlite(fn);
    if (this.#transactionLost) throw new TransactionStateLost(TRANSACTION_ENDED_EARLIER);
    try {
      return this.#sqlite(fn);
    } catch (e) {
      if (this.#db.inTransaction || e instanceof StorageFaultError) throw e;
      this.#transactionLost = true;
      throw new TransactionStateLost(`${(e as Error).message}: ${TRANSACTION_ENDED}`);
    } finally {
      if (!this.#db.inTransaction) this.#transactionLost = true;
    }
  }

  #rollback(): void {
    try {
      this.#db.exec('ROLLBACK');
    } catch (e) {
      // A rollback that fails (an I/O error) leaves SQLite to roll back from the journal.
      if (!storageFaultOf(e, this.path)) throw e;
    }
  }

  /**
   * Runs SQLite work: a storage fault is recorded and thrown as {@link StorageFaultError};
   * SQLite's "attempt to write a readonly database" in a read gets a message that says why.
   */
  #sqlite<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const fault = storageFaultOf(e, this.path, this.#writing);
      if (fault) {
        this.#faults.record(fault);
        throw new StorageFaultError(fault);
      }
      if (!this.#writing && (e as { code?: string }).code === 'SQLITE_READONLY') {
        throw new Error(
          'read-only: this call resolves a Query field; writes are allowed only in Mutation fields and migrate',
        );
      }
      throw e;
    }
  }
}
