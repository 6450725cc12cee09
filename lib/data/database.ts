/**
 * The host side of the `database` import: one better-sqlite3 connection on one extension's
 * own file.
 *
 * - The file is `<dataDir>/forge_ext_<name>.db`, in WAL mode, so a new version of an extension
 *   can migrate while the old one still reads.
 * - Between writes the connection is `query_only`: a `Query` field cannot write. Writes happen
 *   only inside {@link ExtensionDatabase.write}, which the runtime wraps around `migrate` and
 *   around each `Mutation` field: one transaction, committed when the call succeeds, rolled back
 *   on an `err`, a trap, or a worker being stopped (an unfinished transaction never reaches the
 *   file).
 * - Every statement passes the SQL sandbox ({@link assertSqlAllowed}) before it is prepared.
 */
import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { databasePath } from './names.js';
import { assertSqlAllowed } from './sql-guard.js';
import { jsonBytes, parseParams, toJsonInteger, toJsonRow, type BoundParams } from './json-values.js';

/** Options of {@link ExtensionDatabase}. */
export interface DatabaseOptions {
  /**
   * How long a statement waits for another connection's write lock before failing with
   * `SQLITE_BUSY` (only an old and a new version of one extension ever share a file).
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * How many prepared statements are kept per connection, least recently used evicted first.
   * @default 256
   */
  statementCacheSize?: number;
}

type Statement = Database.Statement<unknown[], unknown>;

/** One extension's database connection. Errors are thrown as `Error`s with SQLite's message. */
export class ExtensionDatabase {
  /** Absolute path of the SQLite file. */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Statement>();
  readonly #cacheSize: number;
  #writing = false;

  constructor(dataDir: string, name: string, options: DatabaseOptions = {}) {
    this.path = databasePath(dataDir, name);
    this.#cacheSize = options.statementCacheSize ?? 256;
    mkdirSync(dataDir, { recursive: true });
    this.#db = new Database(this.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    // Temporary tables and sort spills stay in memory: no file outside dataDir, ever.
    this.#db.pragma('temp_store = MEMORY');
    this.#db.pragma('query_only = ON');
  }

  /** Runs one statement and returns its rows as JSON bytes (`[{...}, ...]`). */
  query(sql: string, params: Uint8Array): Uint8Array {
    const stmt = this.#prepare(sql);
    const bound = parseParams(params);
    if (!stmt.reader) {
      this.#run(stmt, bound);
      return jsonBytes([]);
    }
    const rows = this.#explainReadOnly(
      () => (Array.isArray(bound) ? stmt.all(...bound) : stmt.all(bound)) as Record<string, unknown>[],
    );
    for (const row of rows) toJsonRow(row);
    return jsonBytes(rows);
  }

  /** Runs one statement and returns `{"changes":n,"lastInsertRowid":n}` as JSON bytes. */
  execute(sql: string, params: Uint8Array): Uint8Array {
    const info = this.#run(this.#prepare(sql), parseParams(params));
    return jsonBytes({
      changes: info.changes,
      lastInsertRowid: typeof info.lastInsertRowid === 'bigint' ? toJsonInteger(info.lastInsertRowid) : info.lastInsertRowid,
    });
  }

  /** Runs several `;`-separated statements without parameters. */
  executeBatch(sql: string): void {
    assertSqlAllowed(sql);
    this.#explainReadOnly(() => this.#db.exec(sql));
  }

  /**
   * Runs `fn` in one write transaction: committed if `fn` returns, rolled back if it throws.
   * Nested calls join the outer transaction.
   */
  write<T>(fn: () => T): T {
    if (this.#writing) return fn();
    this.#db.pragma('query_only = OFF');
    this.#writing = true;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (e) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw e;
    } finally {
      this.#writing = false;
      this.#db.pragma('query_only = ON');
    }
  }

  /**
   * Runs `fn` read-only, then ends any transaction it left open (a guest's unreleased
   * `SAVEPOINT` must not outlive its call).
   */
  read<T>(fn: () => T): T {
    try {
      return fn();
    } finally {
      if (!this.#writing && this.#db.inTransaction) this.#db.exec('ROLLBACK');
    }
  }

  /** Closes the connection. Uncommitted work is rolled back by SQLite. */
  close(): void {
    this.#statements.clear();
    if (this.#db.open) this.#db.close();
  }

  #prepare(sql: string): Statement {
    const cached = this.#statements.get(sql);
    if (cached) {
      // Refresh its place in the LRU order.
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    assertSqlAllowed(sql);
    const stmt = this.#db.prepare(sql);
    stmt.safeIntegers(true);
    // Bounded by count and by size: a prepared statement's memory grows with its SQL text, which
    // the guest chooses. At most 1 Mi characters of SQL are kept (the least recently used go
    // first); a statement longer than 64 Ki characters is run but never kept.
    const maxChars = 1024 * 1024;
    if (sql.length > 64 * 1024) return stmt;
    let chars = sql.length;
    for (const key of this.#statements.keys()) chars += key.length;
    for (const key of this.#statements.keys()) {
      if (this.#statements.size < this.#cacheSize && chars <= maxChars) break;
      this.#statements.delete(key);
      chars -= key.length;
    }
    this.#statements.set(sql, stmt);
    return stmt;
  }

  #run(stmt: Statement, bound: BoundParams): Database.RunResult {
    return this.#explainReadOnly(() => (Array.isArray(bound) ? stmt.run(...bound) : stmt.run(bound)));
  }

  /** SQLite's "attempt to write a readonly database" does not say why; this does. */
  #explainReadOnly<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (!this.#writing && (e as { code?: string }).code === 'SQLITE_READONLY') {
        throw new Error(
          'read-only: this call resolves a Query field; writes are allowed only in Mutation fields and migrate',
        );
      }
      throw e;
    }
  }
}
