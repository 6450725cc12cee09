/**
 * SQL as SQLite's tokenizer sees it: tokens (comments, string literals and quoted identifiers
 * recognised as SQLite does), statements split where SQLite would split them, and parameters
 * numbered as SQLite numbers them. The SQL sandbox (`sql-guard.ts`) judges these tokens; the
 * database layer binds by these parameter indexes.
 *
 * It relies on the engine's build: better-sqlite3 compiles SQLite with `SQLITE_OMIT_TCL_VARIABLE`,
 * so `$name` is a plain named parameter (no `$a(...)` / `$a::b` forms that could swallow a quote).
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'punct' | 'param' | 'other';
export interface Token {
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
    } else if ((c === ':' || c === '@' || c === '$' || c === '#') && WORD_PART.test(sql[i + 1] ?? '')) {
      // A named parameter `:name`, `@name`, `$name`, `#name` (SQLite's tokenizer: CC_VARALPHA, the
      // prefix, then identifier characters).
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
export const isWord = (t: Token | undefined, word: string): boolean => t?.kind === 'word' && t.text === word;
/** True for an identifier named `name`, bare or quoted (SQLite accepts `"name"(...)` calls). */
export const isIdent = (t: Token | undefined, name: string): boolean =>
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

export function statementTokens(sql: string): Array<{ tokens: Token[]; end: number }> {
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

