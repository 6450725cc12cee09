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

type TokenKind = 'word' | 'quoted' | 'string' | 'punct' | 'param' | 'other';
interface Token {
  kind: TokenKind;
  /** For words and quoted identifiers: the identifier in lower case, quotes removed. */
  text: string;
  /** Offset of the token's first character in the SQL text. */
  at: number;
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
      // Found with indexOf, not char by char: a long literal costs ~1 ns per character.
      const parts: string[] = [];
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(close, j);
        if (k === -1) {
          // Unterminated: SQLite rejects it anyway.
          parts.push(sql.slice(j));
          j = n;
          break;
        }
        parts.push(sql.slice(j, k));
        // A doubled quote is an escaped quote (not for [...]).
        if (close !== ']' && sql[k + 1] === close) {
          parts.push(close);
          j = k + 2;
          continue;
        }
        j = k;
        break;
      }
      // A string literal's text is never a name: it is not kept.
      const string = c === "'";
      tokens.push({ kind: string ? 'string' : 'quoted', text: string ? '' : parts.join('').toLowerCase(), at: i });
      i = j + 1;
    } else if (c >= '0' && c <= '9') {
      // A run of digits is one token (a number's other characters are tokens of their own, as before).
      let j = i + 1;
      while (j < n && sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) j++;
      tokens.push({ kind: 'other', text: sql.slice(i, j), at: i });
      i = j;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j]!)) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j).toLowerCase(), at: i });
      i = j;
    } else if (c === '?') {
      // `?` or a numbered parameter `?NNN` (binds by number, not by order of appearance).
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j]!)) j++;
      tokens.push({ kind: 'param', text: sql.slice(i, j), at: i });
      i = j;
    } else if ((c === ':' || c === '@' || c === '$') && WORD_PART.test(sql[i + 1] ?? '')) {
      // A named parameter `:name`, `@name`, `$name` (SQLite: the prefix, then identifier characters).
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j]!)) j++;
      tokens.push({ kind: 'param', text: sql.slice(i, j), at: i });
      i = j;
    } else if (c === ';' || c === '(' || c === ')' || c === '.' || c === '=' || c === ',') {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else {
      tokens.push({ kind: 'other', text: c, at: i });
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


/** One statement of a SQL text, as SQLite splits it. */
export interface SqlStatement {
  /** The statement's text, without the `;` that ends it. */
  text: string;
  /**
   * The statement's parameters by SQLite's index (element 0 is `?1`): the name SQLite gives the
   * index (`?3`, `:id`, `@id`, `$id`), `'?'` for an anonymous `?`, or `null` for an index no
   * parameter uses (`?3` alone leaves indexes 1 and 2 unused). Its length is SQLite's
   * `sqlite3_bind_parameter_count`.
   */
  parameters: Array<string | null>;
}

/**
 * Splits `sql` into statements where SQLite would: at each `;`, except inside the body of a
 * `CREATE [TEMP|TEMPORARY] TRIGGER` (from its `BEGIN` to the `END` that is not a `CASE`'s).
 * Only that statement form opens a body: a `trigger` or `begin` anywhere else (a column, a table,
 * an alias named so) is an identifier. Empty statements (`;;`, comments alone) are dropped.
 */
export function splitStatements(sql: string): SqlStatement[] {
  return statementTokens(sql).map(({ tokens, end }) => ({
    text: sql.slice(tokens[0]!.at, end),
    parameters: parameterIndexes(tokens),
  }));
}

/**
 * Numbers the parameters the way SQLite does (`sqlite3ExprAssignVarNumber`): `?` takes the next
 * index; `?NNN` is index NNN; a name reuses the index of its first appearance or takes the next.
 */
function parameterIndexes(tokens: Token[]): Array<string | null> {
  const names: Array<string | null> = [];
  const byName = new Map<string, number>();
  for (const t of tokens) {
    if (t.kind !== 'param') continue;
    if (t.text === '?') {
      names.push('?');
    } else if (t.text.startsWith('?')) {
      const index = Number(t.text.slice(1));
      // Out of range (?0, ?32767...): SQLite refuses the statement before anything binds.
      if (!Number.isSafeInteger(index) || index < 1 || index > 32766) continue;
      while (names.length < index) names.push(null);
      names[index - 1] ??= `?${index}`;
    } else if (!byName.has(t.text)) {
      names.push(t.text);
      byName.set(t.text, names.length);
    }
  }
  return names;
}

function statementTokens(sql: string): Array<{ tokens: Token[]; end: number }> {
  const out: Array<{ tokens: Token[]; end: number }> = [];
  let current: Token[] = [];
  let trigger = false;
  let body = false;
  let caseDepth = 0;
  for (const t of tokenize(sql)) {
    if (t.kind === 'punct' && t.text === ';' && !body) {
      if (current.length > 0) out.push({ tokens: current, end: t.at });
      current = [];
      trigger = false;
      caseDepth = 0;
      continue;
    }
    current.push(t);
    if (t.kind !== 'word') continue;
    const at = current.length - 1;
    if (t.text === 'trigger') {
      // CREATE TRIGGER or CREATE TEMP[ORARY] TRIGGER, and nothing else.
      const temp = isWord(current[1], 'temp') || isWord(current[1], 'temporary');
      if (isWord(current[0], 'create') && (at === 1 || (at === 2 && temp))) trigger = true;
    } else if (t.text === 'case') {
      caseDepth++;
    } else if (t.text === 'begin') {
      if (trigger && !body) body = true;
    } else if (t.text === 'end') {
      if (caseDepth > 0) caseDepth--;
      else if (body) body = trigger = false;
    }
  }
  if (current.length > 0) out.push({ tokens: current, end: sql.length });
  return out;
}

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
