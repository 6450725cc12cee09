/**
 * The extension's database, as the guest SDK presents it: typed helpers over the contract's
 * `database` import (which speaks JSON bytes). Runs inside the component.
 */
import { execute as rawExecute, executeBatch, query as rawQuery } from 'forge:extension/database@0.1.0';

/** Statement parameters: positional (`?`) or named (`:name`, `@name`, `$name`). */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/** What `execute` reports. A rowid beyond 2^53 arrives as a decimal string. */
export interface ExecuteResult {
  changes: number;
  lastInsertRowid: number | string;
}

/** The extension's own SQLite database. Every method throws a {@link DatabaseError} on failure. */
export interface Database {
  /** All rows of a query. Integers beyond 2^53 are decimal strings; blobs are base64. */
  query<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Row[];
  /**
   * All rows of a query as raw JSON, for a resolver that returns them unchanged: the rows are
   * never parsed or re-serialised inside the extension (the cheapest way to answer a list).
   */
  json(sql: string, params?: SqlParams): RawJson;
  /** The first row of a query, or undefined. */
  get<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Row | undefined;
  /** Runs one writing statement (only in `Mutation` fields and migrations). */
  execute(sql: string, params?: SqlParams): ExecuteResult;
  /** Runs several `;`-separated statements, without parameters. */
  exec(sql: string): void;
  /**
   * Runs `fn` as a nested unit (a SAVEPOINT inside the host's transaction): undone if it throws,
   * while the rest of the field's work stands.
   */
  transaction<T>(fn: () => T): T;
}

/**
 * JSON a resolver can return as its answer without it being parsed or re-serialised in the
 * extension: from {@link Database.json}, or `RawJson.fromText` of JSON text (e.g. built by
 * SQLite's `json_group_array`).
 */
export class RawJson {
  constructor(readonly bytes: Uint8Array) {}
  /** Wraps JSON text (it is not checked: the host rejects invalid JSON as EXTENSION_BAD_RESPONSE). */
  static fromText(text: string): RawJson {
    return new RawJson(encoder.encode(text));
  }
}

/** A statement failed; `message` is SQLite's (or the host's SQL sandbox's). */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NO_PARAMS = encoder.encode('[]');

/** The import's `err` reaches JavaScript as a thrown value carrying the host's message. */
function rethrow(e: unknown): never {
  const payload = (e as { payload?: unknown } | null)?.payload;
  throw new DatabaseError(typeof payload === 'string' ? payload : e instanceof Error ? e.message : String(e));
}

function encodeParams(params: SqlParams | undefined): Uint8Array {
  return params === undefined ? NO_PARAMS : encoder.encode(JSON.stringify(params));
}

let savepoints = 0;

export const database: Database = {
  query<Row>(sql: string, params?: SqlParams): Row[] {
    return JSON.parse(decoder.decode(this.json(sql, params).bytes)) as Row[];
  },
  json(sql: string, params?: SqlParams): RawJson {
    try {
      return new RawJson(rawQuery(sql, encodeParams(params)));
    } catch (e) {
      rethrow(e);
    }
  },
  get<Row>(sql: string, params?: SqlParams): Row | undefined {
    return this.query<Row>(sql, params)[0];
  },
  execute(sql: string, params?: SqlParams): ExecuteResult {
    let bytes: Uint8Array;
    try {
      bytes = rawExecute(sql, encodeParams(params));
    } catch (e) {
      rethrow(e);
    }
    return JSON.parse(decoder.decode(bytes)) as ExecuteResult;
  },
  exec(sql: string): void {
    try {
      executeBatch(sql);
    } catch (e) {
      rethrow(e);
    }
  },
  transaction<T>(fn: () => T): T {
    const name = `forge_sp_${++savepoints}`;
    this.exec(`SAVEPOINT ${name}`);
    try {
      const result = fn();
      this.exec(`RELEASE ${name}`);
      return result;
    } catch (e) {
      this.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw e;
    }
  },
};
