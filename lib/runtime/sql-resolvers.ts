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
 */
import type { ExtensionDatabase } from '../data/database.js';
import { jsonBytes, parseParams } from '../data/json-values.js';
import { StorageFaultError } from '../data/storage-fault.js';
import { TransactionStateLost } from '../data/transaction-check.js';
import { SqlFieldError, type SqlField } from './sql-fields.js';
import type { WireRequest, WireResult } from './wire.js';

/** Runs native database work (marked for worker isolation; see native-guard.ts). */
type Native = <T>(fn: () => T) => T;

const decoder = new TextDecoder();

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
      const missing = (names: string[]) => names.filter((n) => !info.columns!.includes(n));
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
   * transaction fails the whole call (thrown).
   */
  resolve(db: ExtensionDatabase, native: Native, requests: WireRequest[], indices: number[], results: WireResult[]): void {
    // One group per field and arguments: one statement each.
    const groups = new Map<string, { field: SqlField; args: Uint8Array; members: number[] }>();
    for (const i of indices) {
      const request = requests[i]!;
      const field = this.fieldOf(request)!;
      const id = `${field.typeName}.${field.fieldName}\n${decoder.decode(request.arguments)}`;
      const group = groups.get(id);
      if (group) group.members.push(i);
      else groups.set(id, { field, args: request.arguments, members: [i] });
    }
    for (const { field, args, members } of groups.values()) {
      try {
        if (field.key) this.#keyed(db, native, field, args, members, requests, results);
        else {
          const answer = this.#answer(field, this.#run(db, native, field, args), this.#firstColumnOf(db, native, field));
          for (const i of members) results[i] = answer;
        }
      } catch (e) {
        if (e instanceof StorageFaultError || e instanceof TransactionStateLost || !(e instanceof Error)) throw e;
        for (const i of members) results[i] = { err: e.message, code: 'EXTENSION_ERROR' };
      }
    }
  }

  /** One statement for every parent of the group; rows go back to their parents by key. */
  #keyed(db: ExtensionDatabase, native: Native, field: SqlField, args: Uint8Array, members: number[], requests: WireRequest[], results: WireResult[]): void {
    const { column, parentField } = field.key!;
    const keyOf = new Map<number, string | undefined>();
    const keys = new Map<string, unknown>();
    for (const i of members) {
      const parent = requests[i]!.parent;
      const value = parent ? (JSON.parse(decoder.decode(parent)) as Record<string, unknown> | null)?.[parentField] : undefined;
      if (value !== undefined && value !== null && typeof value !== 'string' && typeof value !== 'number') {
        results[i] = { err: `the parent's ${parentField} is not a string or number: it cannot be a key`, code: 'EXTENSION_ERROR' };
        continue;
      }
      const text = value === undefined || value === null ? undefined : String(value);
      keyOf.set(i, text);
      if (text !== undefined) keys.set(text, value);
    }
    const result = this.#run(db, native, field, args, JSON.stringify([...keys.values()]));
    const first = this.#firstColumnOf(db, native, field);
    const rowsByKey = new Map<string, Record<string, unknown>[]>();
    for (const row of 'rows' in result ? result.rows : []) {
      const key = row[column];
      if (key === null || key === undefined) continue;
      const text = String(key);
      const list = rowsByKey.get(text);
      if (list) list.push(row);
      else rowsByKey.set(text, [row]);
    }
    for (const [i, key] of keyOf) {
      results[i] = this.#answer(field, { rows: (key !== undefined && rowsByKey.get(key)) || [] }, first);
    }
  }

  #run(db: ExtensionDatabase, native: Native, field: SqlField, args: Uint8Array, keys?: string) {
    const params = parseParams(args);
    if (Array.isArray(params)) throw new Error('arguments must be an object');
    if (keys !== undefined) params['keys'] = keys;
    // Every name binds: an argument the request lacks is NULL (better-sqlite3 refuses a missing one).
    for (const name of field.arguments) if (!(name in params)) params[name] = null;
    return native(() => db.run(field.query, params));
  }

  /** The field's answer from the statement's result, as JSON bytes. */
  #answer(field: SqlField, result: { rows: Record<string, unknown>[] } | { changes: number }, first: string | undefined): WireResult {
    if (!('rows' in result)) return { ok: jsonBytes(field.resultType === 'Boolean' ? result.changes > 0 : result.changes) };
    const rows = result.rows;
    try {
      for (const name of field.json) for (const row of rows) row[name] = parseJsonColumn(name, row[name]);
      for (const name of field.booleanColumns) for (const row of rows) row[name] = asBoolean(row[name]);
    } catch (e) {
      return { err: (e as Error).message, code: 'EXTENSION_BAD_RESPONSE' };
    }
    switch (field.shape) {
      case 'rows':
        return { ok: jsonBytes(rows) };
      case 'row':
        return { ok: jsonBytes(rows[0] ?? null) };
      case 'value':
      case 'values': {
        const values = rows.map((row) => (first === undefined ? null : field.resultType === 'Boolean' ? asBoolean(row[first]) : row[first]));
        return { ok: jsonBytes(field.shape === 'values' ? values : (values[0] ?? null)) };
      }
    }
  }

  /**
   * The name of the statement's first column, for scalar fields (asked of SQLite: a row object's
   * first key is not always its first column, a column named "1" would come first).
   */
  #firstColumnOf(db: ExtensionDatabase, native: Native, field: SqlField): string | undefined {
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

/** SQLite's truth value of a number (0 is false); anything else is left for the boundary to judge. */
function asBoolean(value: unknown): unknown {
  return typeof value === 'number' ? value !== 0 : value;
}

function parseJsonColumn(name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new Error(`column "${name}" is declared json but holds text that is not JSON: ${(e as Error).message}`);
  }
}

export { SqlFieldError };
