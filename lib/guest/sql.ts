/**
 * `sql()`: a SQL resolver's `@sql` directive, written for an SDL template, so that a TypeScript
 * author never escapes a statement into a GraphQL string by hand.
 *
 * This file imports nothing: the host-side CLI (`forge-ext build`'s source checks) evaluates
 * `sql(...)` calls with this very function, so the SDL it checks is the one the guest serves.
 */

/** What a SQL resolver declares besides its statement (the `@sql` directive's other arguments). */
export interface SqlOptions {
  /**
   * A field of a type other than `Query`/`Mutation`: the column of the rows that holds the
   * parent's key. Goes with `parentKey`; the statement then selects its rows with `:keys`.
   */
  key?: string;
  /** The parent's field whose value the `key` column matches (e.g. `"id"`). Goes with `key`. */
  parentKey?: string;
  /** Columns holding JSON text, parsed before they are answered (a list or object in a row). */
  json?: readonly string[];
}

/** `sql()` was given text no GraphQL document can hold. */
export class SqlDirectiveError extends Error {
  override name = 'SqlDirectiveError';
}

/**
 * The directive that makes a field a SQL resolver: the host runs `query` on the extension's own
 * database and shapes the rows, with no guest code (so also no resolver for that field).
 *
 * ```ts
 * schema: `extend type Query { notes(tag: String): [Note!]! ${sql('SELECT id, text FROM notes WHERE :tag IS NULL OR tag = :tag ORDER BY id')} }
 *          extend type User { notes: [Note!]! ${sql('SELECT id, text, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))', { key: 'author_id', parentKey: 'id' })} }`
 * ```
 *
 * The rules, in short (the full ones: docs/contract.md, "SQL resolvers"):
 * - arguments bind by name (`:tag`); an absent one is NULL, booleans 1/0, lists and input
 *   objects JSON text;
 * - an object-typed field gets the first row (or null), a list of objects every row (columns map
 *   to fields by name); a scalar the first column of the first row, a list of scalars the first
 *   column of every row;
 * - `key` + `parentKey`: every parent of one call is resolved by one statement, which gets their
 *   keys as the JSON array `:keys`; rows go back to the parent whose key has the same text;
 * - `Query` and other types' fields only read; a `Mutation` field runs in its write transaction
 *   (answer with `RETURNING`, or as `Int` changes / `Boolean` changed-any);
 * - the host checks each statement against the migrated database when the extension loads, and
 *   refuses the version (step `sql-resolvers`, naming `Type.field`) if it does not fit.
 *
 * @param query One SQL statement. Any text: it is escaped as a GraphQL string.
 * @returns `@sql(query: "...", ...)`, to place after the field's type in the SDL.
 * @throws SqlDirectiveError for text with an unpaired UTF-16 surrogate (not Unicode: a GraphQL
 *   document cannot hold it, nor can SQLite's UTF-8), and for arguments of the wrong shape that
 *   untyped JavaScript can pass (`options` not an object, `json` not an array of strings, a
 *   `key` that is no string).
 */
export function sql(query: string, options: SqlOptions = {}): string {
  // The types forbid these; untyped JavaScript (or `as any`) does not, and a TypeError from
  // deep inside would not say which argument is wrong.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SqlDirectiveError(`sql(): options must be an object ({ key?, parentKey?, json? }), got ${describe(options)}`);
  }
  if (options.json !== undefined && !Array.isArray(options.json)) {
    throw new SqlDirectiveError(`sql(): options.json must be an array of column names (e.g. ['tags']), got ${describe(options.json)}`);
  }
  const args = [`query: ${graphqlString(query)}`];
  if (options.key !== undefined) args.push(`key: ${graphqlString(options.key)}`);
  if (options.parentKey !== undefined) args.push(`parentKey: ${graphqlString(options.parentKey)}`);
  if (options.json !== undefined) args.push(`json: [${options.json.map(graphqlString).join(', ')}]`);
  return `@sql(${args.join(', ')})`;
}

/** What a wrongly shaped argument is, for a message. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : typeof value;
}

/**
 * `text` as a GraphQL StringValue (spec §2.9.4): `"` and `\` escaped, every control character
 * (line terminators included, which would end the string) as `\uXXXX`; the rest as it is.
 */
function graphqlString(text: string): string {
  if (typeof text !== 'string') throw new SqlDirectiveError(`sql(): expected a string, got ${describe(text)}`);
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) out += text[i]! + text[++i]!;
    else if (code >= 0xd800 && code <= 0xdfff) {
      throw new SqlDirectiveError(`sql(): the text has an unpaired surrogate (\\u${code.toString(16)}) at index ${i}: it is not Unicode text`);
    } else out += text[i]!;
  }
  return `${out}"`;
}
