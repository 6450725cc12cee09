/**
 * Runs an extension's SQL resolvers (declared with `@sql`, see `sql-fields.ts`) where its
 * database connection lives, as part of an ordinary call: the same transaction (read-only, or
 * one write transaction for a `Mutation` field), the same deadline, size limits and error codes
 * as a guest's answer. No guest code runs for them.
 *
 * - Arguments bind by name (`:tag`): SQLite values as the `database` import binds them
 *   (json-values.ts: integers exact, booleans 1/0, lists and input objects as JSON text); an
 *   argument the request lacks binds NULL.
 * - A keyed field resolves every parent in the call with one statement per distinct set of
 *   arguments: `:keys` is the JSON array of their keys, and each row goes to the parents whose
 *   key has the same text as its key column (`1` and `"1"` match).
 * - A root field asked several times with the same arguments in one call runs once.
 * - Fields that get the same rows share one answer (one JSON text, not one per field).
 */
import type { ExtensionDatabase } from '../data/database.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../data/json-depth.js';
import { parseParams, RowsTooLargeError } from '../data/json-values.js';
import { StorageFaultError } from '../data/storage-fault.js';
import { TransactionStateLost } from '../data/transaction-check.js';
import { SqlFieldError, statementKey, type SqlField } from './sql-fields.js';
import type { WireRequest, WireResult } from './wire.js';

/** Runs native database work (marked for worker isolation; see native-guard.ts). */
type Native = <T>(fn: () => T) => T;

export class SqlResolvers {
  readonly #fields: ReadonlyMap<string, SqlField>;
  /** The column each scalar field takes, by `Type.field` (see {@link valueColumn}). */
  readonly #firstColumn = new Map<string, string | undefined>();

  constructor(fields: ReadonlyMap<string, SqlField>) {
    this.#fields = fields;
  }

  /** No field is resolved here. */
  get empty(): boolean {
    return this.#fields.size === 0;
  }

  /** The SQL resolver of the request's field, if it has one. */
  fieldOf(request: WireRequest): SqlField | undefined {
    return this.#fields.get(`${request.typeName}.${request.fieldName}`);
  }

  /**
   * Prepares every statement against the (migrated) database and checks it fits its field:
   * parameters are arguments (and `:keys` exactly where a key is declared), only `Mutation`
   * fields write, the columns cover the key, the JSON columns and the result type's non-null
   * fields. Throws {@link SqlFieldError} naming `Type.field` (and SQLite's message).
   */
  check(db: ExtensionDatabase, native: Native): void {
    for (const [where, field] of this.#fields) {
      const fail = (message: string): never => {
        throw new SqlFieldError(`${where} @sql: ${message}`);
      };
      let info: ReturnType<ExtensionDatabase['describe']>;
      try {
        info = native(() => db.describe(field.query));
      } catch (e) {
        if (e instanceof StorageFaultError) throw e;
        return fail(`the statement does not prepare: ${(e as Error).message}`);
      }
      for (const parameter of info.parameters) {
        if (parameter === null || !/^[:@$]/.test(parameter)) fail(`parameters are named (:name), not ${parameter ?? 'numbered'}`);
        const name = parameter!.slice(1);
        if (name === 'keys') {
          if (!field.key) fail(':keys is the parents\' keys: declare key and parentKey to use it');
        } else if (!field.arguments.includes(name)) {
          fail(`:${name} is not an argument of ${where}${field.arguments.length ? ` (its arguments: ${field.arguments.join(', ')})` : ''}`);
        }
      }
      if (field.key && !info.parameters.some((p) => p?.slice(1) === 'keys')) fail('a keyed field must select its rows with :keys (the parents\' keys as a JSON array)');
      if (!field.write && !info.readonly) fail(`only Mutation fields may write; ${where} runs read-only`);
      if (info.columns === undefined) {
        if (field.shape !== 'value' || (field.resultType !== 'Int' && field.resultType !== 'Boolean')) {
          fail('the statement returns no rows (add RETURNING); only an Int or Boolean field can take its number of changes');
        }
        continue;
      }
      if ((field.shape === 'value' || field.shape === 'values') && valueColumn(field, info.columns) === undefined) {
        fail(`the statement has no column besides the key column "${field.key!.column}" to answer with`);
      }
      const twice = info.columns.find((c, i) => info.columns!.indexOf(c) !== i);
      if (twice !== undefined) fail(`column "${twice}" appears twice (the columns: ${info.columns.join(', ')}): give each its own name (… AS name)`);
      if (field.key?.column === '__proto__') fail('the key column cannot be named __proto__');
      const missing = (names: string[]) => names.filter((n) => !info.columns!.includes(n));
      const notJson = field.jsonFields.filter((f) => info.columns!.includes(f) && !field.json.includes(f));
      if (notJson.length) {
        fail(`column${notJson.length > 1 ? 's' : ''} ${notJson.join(', ')} fill${notJson.length > 1 ? '' : 's'} a list or object field of ${field.resultType}: ${notJson.length > 1 ? 'they' : 'it'} can only hold JSON text; declare json: [${notJson.map((f) => `"${f}"`).join(', ')}]`);
      }
      if (field.key && missing([field.key.column]).length) fail(`key column "${field.key.column}" is not among the columns (${info.columns.join(', ')})`);
      const json = missing(field.json);
      if (json.length) fail(`json column${json.length > 1 ? 's' : ''} ${json.join(', ')} not among the columns (${info.columns.join(', ')})`);
      const uncovered = missing(field.requiredColumns);
      if (uncovered.length) {
        fail(`no column for the non-null field${uncovered.length > 1 ? 's' : ''} ${uncovered.map((f) => `${field.resultType}.${f}`).join(', ')} (the columns: ${info.columns.join(', ')}); select it (… AS ${uncovered[0]}) or make it nullable`);
      }
    }
  }

  /**
   * Answers the requests at `indices` (all SQL fields) into `results`. A statement that fails
   * fails the fields it was for (`EXTENSION_ERROR`, SQLite's message); a storage fault or a lost
   * transaction fails the whole call (thrown). The rows of all the call's statements together
   * may take at most `maxCallBytes` as JSON: a statement that would pass it is stopped and its
   * fields fail with `EXTENSION_RESPONSE_TOO_LARGE` (each field's own answer is checked against
   * `limits.maxResponseBytes` by the caller), so no request can make the instance hold more.
   */
  resolve(db: ExtensionDatabase, native: Native, requests: WireRequest[], indices: number[], results: WireResult[], maxCallBytes: number): void {
    // One group per field and arguments: one statement each.
    const groups = new Map<string, { field: SqlField; args: string; members: number[] }>();
    for (const i of indices) {
      const request = requests[i]!;
      const field = this.fieldOf(request)!;
      const id = statementKey(request);
      const group = groups.get(id);
      if (group) group.members.push(i);
      else groups.set(id, { field, args: request.arguments, members: [i] });
    }
    const budget = { left: maxCallBytes };
    for (const { field, args, members } of groups.values()) {
      try {
        if (field.key) this.#keyed(db, native, field, args, members, requests, results, budget);
        else {
          const answer = this.#answer(field, this.#rows(field, this.#run(db, native, field, args, budget)), this.#valueColumnOf(db, native, field));
          for (const i of members) results[i] = answer;
        }
      } catch (e) {
        if (e instanceof StorageFaultError || e instanceof TransactionStateLost || !(e instanceof Error)) throw e;
        const failure: WireResult =
          e instanceof RowsTooLargeError
            ? { err: `${e.message}: this call's answers may take at most ${maxCallBytes} bytes (2 x limits.maxResponseBytes); ask for fewer rows or fields at once`, code: 'EXTENSION_RESPONSE_TOO_LARGE', callBytes: true }
            : // A trigger's RAISE(ABORT, '...') is the author's own message for clients: as it is.
              { err: (e as { code?: string }).code === 'SQLITE_CONSTRAINT_TRIGGER' ? e.message : `${field.typeName}.${field.fieldName}: ${e.message}`, code: 'EXTENSION_ERROR' };
        for (const i of members) results[i] = failure;
      }
    }
  }

  /** One statement for every parent of the group; rows go back to their parents by key. */
  #keyed(db: ExtensionDatabase, native: Native, field: SqlField, args: string, members: number[], requests: WireRequest[], results: WireResult[], budget: { left: number }): void {
    const { column, parentField } = field.key!;
    const keyOf = new Map<number, string | undefined>();
    const keys = new Map<string, unknown>();
    for (const i of members) {
      const parent = requests[i]!.parent;
      const value = parent === undefined ? undefined : (JSON.parse(parent) as Record<string, unknown> | null)?.[parentField];
      if (value !== undefined && value !== null && typeof value !== 'string' && typeof value !== 'number') {
        results[i] = { err: `the parent's ${parentField} is not a string or number: it cannot be a key`, code: 'EXTENSION_ERROR' };
        continue;
      }
      const text = value === undefined || value === null ? undefined : String(value);
      keyOf.set(i, text);
      if (text !== undefined) keys.set(text, value);
    }
    const converted = this.#rows(field, this.#run(db, native, field, args, budget, JSON.stringify([...keys.values()])));
    const rowsByKey = new Map<string, Record<string, unknown>[]>();
    for (const row of 'rows' in converted ? converted.rows : []) {
      const key = row[column];
      if (key === null || key === undefined) continue;
      const text = String(key);
      const list = rowsByKey.get(text);
      if (list) list.push(row);
      else rowsByKey.set(text, [row]);
    }
    const value = this.#valueColumnOf(db, native, field);
    const bad = 'bad' in converted ? converted.bad : undefined;
    // Parents with the same key share one answer, made once: a call's answers then take no more
    // than its rows (the call's bytes bound those), however many of its parents share a key.
    const answers = new Map<string | undefined, WireResult>();
    for (const [i, key] of keyOf) {
      let answer = answers.get(key);
      if (!answer) answers.set(key, (answer = this.#answer(field, { rows: (key !== undefined && rowsByKey.get(key)) || [], bad }, value)));
      results[i] = answer;
    }
  }

  /** Runs the field's statement within what is left of the call's answer bytes. */
  #run(db: ExtensionDatabase, native: Native, field: SqlField, args: string, budget: { left: number }, keys?: string) {
    const params = parseParams(args);
    if (Array.isArray(params)) throw new Error('arguments must be an object');
    if (keys !== undefined) params['keys'] = keys;
    // Every name binds: an argument the request lacks is NULL (better-sqlite3 refuses a missing one).
    // Own properties only: `constructor` or `toString` are in every object.
    for (const name of field.arguments) if (!Object.hasOwn(params, name)) params[name] = null;
    const result = native(() => db.run(field.query, params, budget.left));
    if ('rows' in result) budget.left -= result.bytes ?? 0;
    return result;
  }

  /**
   * The rows with their json columns parsed and Boolean fields made booleans, once per statement
   * (parents with the same key share rows). A row whose json column does not parse is `bad`:
   * the answers that include it fail, the others do not.
   */
  #rows(field: SqlField, result: { rows: Record<string, unknown>[] } | { changes: number }): Converted {
    if (!('rows' in result)) return result;
    let bad: Map<Record<string, unknown>, string> | undefined;
    for (const row of result.rows) {
      try {
        for (const name of field.json) row[name] = parseJsonColumn(name, row[name]);
        for (const name of field.booleanColumns) if (name in row) row[name] = asBoolean(row[name]);
      } catch (e) {
        (bad ??= new Map()).set(row, (e as Error).message);
      }
    }
    return bad ? { rows: result.rows, bad } : { rows: result.rows };
  }

  /** The field's answer from its rows, as JSON text. */
  #answer(field: SqlField, result: Converted, value: string | undefined): WireResult {
    if (!('rows' in result)) return { ok: JSON.stringify(field.resultType === 'Boolean' ? result.changes > 0 : result.changes) };
    const { rows, bad } = result;
    const badRow = bad && rows.find((row) => bad.has(row));
    if (badRow) return { err: bad.get(badRow)!, code: 'EXTENSION_BAD_RESPONSE' };
    let answer: unknown;
    switch (field.shape) {
      case 'rows':
        answer = rows;
        break;
      case 'row':
        answer = rows[0] ?? null;
        break;
      case 'value':
      case 'values': {
        const values = rows.map((row) => (value === undefined ? null : field.resultType === 'Boolean' ? asBoolean(row[value]) : row[value]));
        answer = field.shape === 'values' ? values : (values[0] ?? null);
        break;
      }
    }
    // Rows hold SQLite values and json columns of at most MAX_JSON_DEPTH levels: JSON on every Node line.
    // Text, not bytes: every channel carries a string natively, and the host parses it as it is.
    return { ok: JSON.stringify(answer) };
  }

  /**
   * The name of the statement's first column, for scalar fields (asked of SQLite: a row object's
   * first key is not always its first column, a column named "1" would come first).
   */
  #valueColumnOf(db: ExtensionDatabase, native: Native, field: SqlField): string | undefined {
    if (field.shape !== 'value' && field.shape !== 'values') return undefined;
    const id = `${field.typeName}.${field.fieldName}`;
    if (!this.#firstColumn.has(id)) this.#firstColumn.set(id, valueColumn(field, native(() => db.describe(field.query)).columns ?? []));
    return this.#firstColumn.get(id);
  }
}

/** The column a scalar field takes: the first one, after the key column of a keyed field. */
function valueColumn(field: SqlField, columns: string[]): string | undefined {
  return columns.find((c) => c !== field.key?.column);
}

/** Statement results ready to answer from. */
type Converted = { rows: Record<string, unknown>[]; bad?: Map<Record<string, unknown>, string> } | { changes: number };

/** SQLite's truth value of a number (0 is false); anything else is left for the boundary to judge. */
function asBoolean(value: unknown): unknown {
  return typeof value === 'number' ? value !== 0 : value;
}

/**
 * The value of a json column. Text nested more than {@link MAX_JSON_DEPTH} levels is refused as
 * SQLite's JSON functions refuse it: whether the host could still write it depends on the Node
 * line (see MAX_JSON_DEPTH), and the answer would be refused on one line and served on another.
 */
function parseJsonColumn(name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (jsonTextDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new Error(`column "${name}" is declared json but holds JSON nested more than ${MAX_JSON_DEPTH} levels deep (SQLite's own limit for JSON)`);
  }
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new Error(`column "${name}" is declared json but holds text that is not JSON: ${(e as Error).message}`);
  }
}

export { SqlFieldError };
