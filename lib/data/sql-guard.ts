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
 * Only `user_version` and `foreign_keys` may be assigned.
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
const ASSIGNABLE_PRAGMAS: ReadonlySet<string> = new Set(['user_version', 'foreign_keys']);

type TokenKind = 'word' | 'quoted' | 'string' | 'punct' | 'other';
interface Token {
  kind: TokenKind;
  /** For words and quoted identifiers: the identifier in lower case, quotes removed. */
  text: string;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Splits SQL into tokens, dropping whitespace and comments. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      // An unterminated comment runs to the end of the input, as in SQLite.
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= n) break; // unterminated: SQLite rejects it anyway
        if (sql[j] === close) {
          // A doubled quote is an escaped quote (not for [...]).
          if (close !== ']' && sql[j + 1] === close) {
            text += close;
            j += 2;
            continue;
          }
          break;
        }
        text += sql[j];
        j++;
      }
      tokens.push({ kind: c === "'" ? 'string' : 'quoted', text: text.toLowerCase() });
      i = j + 1;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j]!)) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j).toLowerCase() });
      i = j;
    } else if (c === ';' || c === '(' || c === ')' || c === '.' || c === '=' || c === ',') {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      tokens.push({ kind: 'other', text: c });
      i++;
    }
  }
  return tokens;
}

/** True for a bare keyword `word` (quoted identifiers are never keywords). */
const isWord = (t: Token | undefined, word: string): boolean => t?.kind === 'word' && t.text === word;
/** True for an identifier named `name`, bare or quoted (SQLite accepts `"name"(...)` calls). */
const isIdent = (t: Token | undefined, name: string): boolean =>
  (t?.kind === 'word' || t?.kind === 'quoted') && t.text === name;

/**
 * Throws {@link SqlRefused} if `sql` (one or several statements) contains a forbidden form.
 * Returns normally for everything else; SQLite itself reports syntax errors later.
 */
export function assertSqlAllowed(sql: string): void {
  const tokens = tokenize(sql);
  let statementStart = 0;
  // CREATE TRIGGER bodies hold `;`-separated statements between BEGIN and END, and CASE
  // expressions end with END too: track both so `END` is read the way SQLite reads it.
  let inTrigger = false;
  let triggerBody = false;
  let caseDepth = 0;

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const atStart = i === statementStart;

    if (t.kind === 'punct' && t.text === ';') {
      if (!triggerBody) {
        statementStart = i + 1;
        inTrigger = false;
        caseDepth = 0;
      }
      continue;
    }
    if (isIdent(t, 'load_extension')) {
      throw new SqlRefused('load_extension', 'loading native code into the database engine is not allowed');
    }
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
        for (let j = i + 1; j < tokens.length && tokens[j]!.text !== ';'; j++) {
          if (isWord(tokens[j], 'into')) {
            throw new SqlRefused('VACUUM INTO', 'writing a copy of the database to another file is not allowed');
          }
        }
        break;
      case 'pragma':
        checkPragma(tokens, i);
        break;
      case 'case':
        caseDepth++;
        break;
      case 'trigger':
        if (isWord(tokens[statementStart], 'create')) inTrigger = true;
        break;
      case 'begin':
        if (inTrigger && !triggerBody) {
          triggerBody = true;
          break;
        }
        if (atStart) throw transactionControl('BEGIN');
        break;
      case 'end':
        if (caseDepth > 0) {
          caseDepth--;
        } else if (triggerBody) {
          triggerBody = false;
        } else if (atStart) {
          throw transactionControl('END');
        }
        break;
      case 'commit':
        if (atStart) throw transactionControl('COMMIT');
        break;
      case 'rollback':
        // ROLLBACK [TRANSACTION] TO [SAVEPOINT] name undoes to a savepoint: allowed.
        if (atStart) {
          const next = isWord(tokens[i + 1], 'transaction') ? tokens[i + 2] : tokens[i + 1];
          if (!isWord(next, 'to')) throw transactionControl('ROLLBACK');
        }
        break;
    }
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

/** Every allowed pragma that cannot be assigned reads with an `(argument)`: a table, an index, a limit. */
const READS_WITH_ARGUMENT: ReadonlySet<string> = new Set([...ALLOWED_PRAGMAS].filter((p) => !ASSIGNABLE_PRAGMAS.has(p)));

function checkPragmaName(name: string, assigns: boolean): void {
  if (!ALLOWED_PRAGMAS.has(name)) {
    throw new SqlRefused(
      `PRAGMA ${name}`,
      `only these pragmas are allowed: ${[...ALLOWED_PRAGMAS].join(', ')}`,
    );
  }
  if (assigns && !ASSIGNABLE_PRAGMAS.has(name)) {
    throw new SqlRefused(`PRAGMA ${name}`, `only ${[...ASSIGNABLE_PRAGMAS].join(' and ')} can be set`);
  }
}
