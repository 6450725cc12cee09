/**
 * The second line against an extension ending the host's transaction: it asks SQLite, not a
 * tokenizer. Each statement is compiled with `EXPLAIN` first; `BEGIN`, `COMMIT`, `END` and
 * `ROLLBACK` (in any spelling SQLite accepts) compile to the `AutoCommit` opcode, which no other
 * statement contains. So whatever the SQL guard's tokenizer made of the text, a statement that
 * would begin, commit or roll back a transaction is refused before it runs.
 *
 * (`SAVEPOINT` / `RELEASE` / `ROLLBACK TO` compile to `Savepoint` and stay allowed: inside the
 * host's `BEGIN` they cannot end it.) Compiling is not always free of effects — SQLite applies a
 * flag `PRAGMA` such as `query_only` when it compiles it — so this runs only after the SQL guard
 * has refused every pragma but the harmless ones.
 */
import Database from 'better-sqlite3';

const { SqliteError } = Database;
import { SqlRefused } from './sql-guard.js';

/**
 * Throws {@link SqlRefused} (rule `transaction control`) if `sql` — one statement, already known
 * to prepare — begins, commits or rolls back a transaction. A statement that starts with `EXPLAIN`
 * cannot be explained again, and never runs its program anyway; any other statement that cannot be
 * explained (`/* *\/ EXPLAIN ...`) is refused.
 */
export function assertNoTransactionControl(db: Database.Database, sql: string): void {
  if (/^\s*explain\b/i.test(sql)) return;
  let explain: Database.Statement;
  try {
    explain = db.prepare(`EXPLAIN ${sql}`);
  } catch (e) {
    throw new SqlRefused('transaction control', `the statement could not be checked: ${(e as Error).message}`);
  }
  let program: Array<{ opcode: string }>;
  try {
    program = explain.all() as Array<{ opcode: string }>;
  } catch (e) {
    // better-sqlite3 refuses to run a statement with unbound parameters (a RangeError or
    // TypeError, not a SqliteError). No transaction-control statement takes a parameter: its
    // grammar has no expression.
    if (!(e instanceof SqliteError)) return;
    throw new SqlRefused('transaction control', `the statement could not be checked: ${e.message}`);
  }
  if (program.some((op) => op.opcode === 'AutoCommit')) {
    throw new SqlRefused(
      'transaction control',
      'the host owns transactions (each migration and each Mutation field runs in one); ' +
        'use SAVEPOINT / RELEASE / ROLLBACK TO for nested units',
    );
  }
}

/**
 * Thrown when, after a call, the transaction or read-only state the host set up is no longer in
 * place. The host rolls back what it can and fails the call.
 */
export class TransactionStateLost extends Error {
  override name = 'TransactionStateLost';
}
