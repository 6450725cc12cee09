/**
 * The SQL sandbox: statements an extension may not run on its database.
 *
 * An extension owns one SQLite file and nothing else. SQLite itself can reach other files
 * (`ATTACH`, `VACUUM INTO`, `load_extension`, several `PRAGMA`s) or reveal where the file lives
 * (`PRAGMA database_list`), and transaction control belongs to the host (a `Mutation` field or a
 * migration must commit or roll back as one unit). This module refuses those statements.
 *
 * It works on tokens, not on text: comments, string literals and quoted identifiers are
 * recognised the way SQLite's own tokenizer does, so neither `/* *\/ATTACH`, `AtTaCh`, nor a
 * keyword hidden in a string literal changes the verdict.
 */
import { isIdent, isWord, statementTokens, type Token } from './sql-tokens.js';

/** Why a statement was refused: thrown as-is (a string, as the `database` import's `err`). */
export class SqlRefused extends Error {
  constructor(
    /** Which rule refused it, e.g. `ATTACH`, `PRAGMA database_list`. */
    readonly rule: string,
    reason: string,
  ) {
    super(`SQL refused (${rule}): ${reason}`);
    this.name = 'SqlRefused';
  }
}

/**
 * Pragmas an extension may use: they only describe or configure its own schema. Everything else
 * (`journal_mode`, `writable_schema`, `database_list`, `temp_store_directory`, ...) is refused.
 * Only `user_version` may be assigned: `foreign_keys` is the host's (it turns enforcement on for
 * every connection; set by an extension it would be a no-op inside a `Mutation` or `migrate`
 * transaction and would change later calls of one instance only if set in a `Query`).
 */
export const ALLOWED_PRAGMAS: ReadonlySet<string> = new Set([
  'user_version',
  'foreign_keys',
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'integrity_check',
  'quick_check',
]);
const ASSIGNABLE_PRAGMAS: ReadonlySet<string> = new Set(['user_version']);

/**
 * Functions that are the function form of a refused `PRAGMA` (`compile_options`): refused with it,
 * so one rule holds whichever spelling an extension uses.
 */
const REFUSED_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['load_extension', 'loading native code into the database engine is not allowed'],
  ['sqlite_compileoption_get', 'the engine\'s build options are host information (PRAGMA compile_options is refused too)'],
  ['sqlite_compileoption_used', 'the engine\'s build options are host information (PRAGMA compile_options is refused too)'],
]);

/**
 * Throws {@link SqlRefused} if `sql` (one or several statements) contains a forbidden form.
 * Returns normally for everything else; SQLite itself reports syntax errors later.
 *
 * This is the first line. The second does not depend on this tokenizer: the database layer asks
 * SQLite's compiled program of each statement whether it controls the transaction
 * (`lib/data/transaction-check.ts`), and verifies after every call that the host's transaction
 * is still in place.
 */
export function assertSqlAllowed(sql: string): void {
  for (const { tokens } of statementTokens(sql)) checkStatement(tokens);
}

function checkStatement(tokens: Token[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const refusedFunction = (t.kind === 'word' || t.kind === 'quoted') && REFUSED_FUNCTIONS.get(t.text);
    if (refusedFunction) throw new SqlRefused(t.text, refusedFunction);
    // Table-valued pragma functions (`SELECT * FROM pragma_database_list`) obey the same list.
    if ((t.kind === 'word' || t.kind === 'quoted') && t.text.startsWith('pragma_')) {
      checkPragmaName(t.text.slice('pragma_'.length), false);
    }
    if (t.kind !== 'word') continue;

    switch (t.text) {
      case 'attach':
        throw new SqlRefused('ATTACH', 'an extension may only use its own database');
      case 'detach':
        throw new SqlRefused('DETACH', 'an extension may only use its own database');
      case 'vacuum':
        if (tokens.slice(i + 1).some((u) => isWord(u, 'into'))) {
          throw new SqlRefused('VACUUM INTO', 'writing a copy of the database to another file is not allowed');
        }
        break;
      case 'pragma':
        checkPragma(tokens, i);
        break;
      case 'begin':
      case 'end':
      case 'commit':
        if (i === 0) throw transactionControl(t.text.toUpperCase());
        break;
      case 'rollback':
        // ROLLBACK [TRANSACTION] TO [SAVEPOINT] name undoes to a savepoint: allowed.
        if (i === 0) {
          const next = isWord(tokens[1], 'transaction') ? tokens[2] : tokens[1];
          if (!isWord(next, 'to')) throw transactionControl('ROLLBACK');
        } else {
          checkRollbackResolution(tokens, i);
        }
        break;
    }
  }
}

/**
 * The conflict resolutions that roll back the whole transaction, not just the statement:
 * `INSERT|UPDATE OR ROLLBACK`, `ON CONFLICT ROLLBACK` (in a table's constraint), `RAISE(ROLLBACK, ...)`
 * (in a trigger). The runtime also stops a call whose transaction ended (a table created
 * elsewhere may carry one), but an author learns it here, with the alternative.
 */
function checkRollbackResolution(tokens: Token[], i: number): void {
  const before = tokens[i - 1];
  const form = isWord(before, 'or')
    ? 'OR ROLLBACK'
    : isWord(before, 'conflict')
      ? 'ON CONFLICT ROLLBACK'
      : before?.text === '(' && isWord(tokens[i - 2], 'raise')
        ? 'RAISE(ROLLBACK)'
        : undefined;
  if (form) {
    throw new SqlRefused(form, "it would end the host's transaction; use ABORT (undoes the statement) or FAIL, or RAISE(ABORT, ...)");
  }
}

function transactionControl(keyword: string): SqlRefused {
  return new SqlRefused(
    keyword,
    'the host owns transactions (each migration and each Mutation field runs in one); ' +
      'use SAVEPOINT / RELEASE / ROLLBACK TO for nested units',
  );
}

/** `PRAGMA [schema.]name [= value | (value)]` starting at `tokens[i]`. */
function checkPragma(tokens: Token[], i: number): void {
  let nameAt = i + 1;
  if (tokens[i + 2]?.text === '.') {
    const schema = tokens[i + 1];
    if (!isIdent(schema, 'main')) {
      throw new SqlRefused('PRAGMA schema', 'only the main database can be named');
    }
    nameAt = i + 3;
  }
  const name = tokens[nameAt];
  if (!name || (name.kind !== 'word' && name.kind !== 'quoted')) {
    throw new SqlRefused('PRAGMA', 'expected a pragma name');
  }
  const next = tokens[nameAt + 1];
  const assigns = next?.text === '=' || (next?.text === '(' && !READS_WITH_ARGUMENT.has(name.text));
  checkPragmaName(name.text, assigns);
}

/** Pragmas whose `(argument)` form reads: a table, an index, a limit. For the others `(x)` assigns. */
const READS_WITH_ARGUMENT: ReadonlySet<string> = new Set([
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'integrity_check',
  'quick_check',
]);

function checkPragmaName(name: string, assigns: boolean): void {
  if (!ALLOWED_PRAGMAS.has(name)) {
    throw new SqlRefused(
      `PRAGMA ${name}`,
      `only these pragmas are allowed: ${[...ALLOWED_PRAGMAS].join(', ')}`,
    );
  }
  if (assigns && !ASSIGNABLE_PRAGMAS.has(name)) {
    throw new SqlRefused(`PRAGMA ${name}`, `only ${[...ASSIGNABLE_PRAGMAS].join(' and ')} can be set${name === 'foreign_keys' ? ' (the host turns foreign keys on for every connection)' : ''}`);
  }
}
