/**
 * JSON <-> SQLite values, for the `database` import.
 *
 * Parameters arrive as JSON (an array for positional `?`, an object for named `:name`); rows
 * leave as a JSON array of objects. Two SQLite values have no exact JSON form, and each gets
 * one fixed encoding:
 *
 * - **INTEGER beyond ±(2^53 − 1)**: a JSON *string* of its decimal digits (`"9007199254740993"`),
 *   so no digit is lost; integers within that range are JSON numbers. (Rows are read with
 *   better-sqlite3's `safeIntegers`, so the host never holds a rounded value.)
 * - **BLOB**: a base64 JSON string.
 *
 * In parameters, a JSON number whose value is an integer within ±(2^53 − 1) binds as an SQLite
 * INTEGER, and so does an integer literal (digits only) beyond that within SQLite's 64-bit range,
 * exactly as written (`9007199254740993` is not rounded to `...992`); any other number binds as a
 * REAL. (better-sqlite3 alone would bind every JS number as REAL: `typeof(?)` would say `real`
 * for `1`, and `1` would be stored in a TEXT column as `'1.0'`.) `true`/`false` bind as INTEGER
 * 1/0 and arrays/objects as their JSON text, numbers in it digit for digit (ready for SQLite's
 * `json_*` functions). A big integer can also be sent as a decimal string: a column with INTEGER
 * affinity stores it as an exact integer.
 *
 * An array binds by SQLite's parameter index: element `k` (from 0) binds index `k + 1`, so
 * `?1` may appear twice, `?2` before `?1`, and `?` mixes with `?NNN` as SQLite numbers them
 * ({@link bindArguments}).
 */

import { isLosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';

/** The values better-sqlite3 binds. */
type Bindable = number | string | bigint | Buffer | null;

/** Parameters in the shape better-sqlite3 takes: positional list or named object. */
export type BoundParams = Bindable[] | Record<string, Bindable>;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses the `params` bytes of a `query`/`execute` call. Throws an `Error` saying what is wrong. */
export function parseParams(json: Uint8Array): BoundParams {
  if (json.length === 0) return [];
  let value: unknown;
  try {
    const text = decoder.decode(json);
    // Only a number of 16 or more digits can lose digits in a JS number: then (rarely) parse
    // keeping each number's text (lossless-json), else the fast built-in parser.
    value = MAY_LOSE_DIGITS.test(text) ? parseLossless(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`params are not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (value === null) return [];
  if (Array.isArray(value)) return value.map(toBindable);
  if (typeof value === 'object') {
    const named: Record<string, Bindable> = {};
    for (const [key, v] of Object.entries(value)) {
      // Accept the SQL spelling of the name too: {":id": 1} binds :id like {"id": 1}.
      named[/^[:@$]/.test(key) ? key.slice(1) : key] = toBindable(v);
    }
    return named;
  }
  throw new Error('params must be a JSON array (positional ?) or object (named :name)');
}

const MAY_LOSE_DIGITS = /[0-9]{16}/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toBindable(v: unknown): Bindable {
  if (typeof v === 'number') {
    // `1e309` parses as Infinity: stored, it would read back as `null`.
    if (!Number.isFinite(v)) throw new Error('params: a number beyond the range of a REAL (about ±1.8e308)');
    return Number.isSafeInteger(v) ? BigInt(v) : v;
  }
  if (isLosslessNumber(v)) {
    // An integer literal within 64 bits binds exactly as written (SQLite's own rule for literals).
    if (/^-?[0-9]+$/.test(v.value)) {
      const exact = BigInt(v.value);
      if (exact >= INT64_MIN && exact <= INT64_MAX) return exact;
    }
    return toBindable(Number(v.value));
  }
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  // Arrays and objects as JSON text; numbers parsed losslessly are written back as they came.
  return stringifyLossless(v) ?? 'null';
}

/**
 * `params` as the arguments of better-sqlite3's `run`/`all` for a statement whose parameters are
 * `parameters` (see `SqlStatement.parameters`).
 *
 * An object binds names (better-sqlite3 binds `:id`, `@id`, `$id` and `?1` from the keys `id`
 * and `1`; an index no parameter uses is NULL); a statement with an anonymous `?` needs an array. An array binds by SQLite's index: element `k` (from 0) binds index `k + 1`, whatever
 * its form (`?`, `?NNN`, `:name`), so `?2` may come before `?1`, `?1` may appear twice, `?` and
 * `?1` mix as SQLite numbers them, and `?3` alone takes the third element. It must have exactly
 * one element per index; otherwise an `Error` says how many the statement takes.
 */
export function bindArguments(params: BoundParams, parameters: ReadonlyArray<string | null>): unknown[] {
  if (!Array.isArray(params)) {
    // better-sqlite3 binds an unnamed index only from a positional argument: an unused index
    // (a gap before `?3`) gets NULL; an anonymous `?` cannot take a value from an object.
    if (parameters.includes('?')) throw new Error('the statement has anonymous ? parameters: pass params as a JSON array');
    const unused = parameters.filter((name) => name === null).map(() => null);
    return [...unused, params];
  }
  if (params.length !== parameters.length) {
    const n = parameters.length;
    const forms = n === 0 ? 'no parameters' : n === 1 ? '1 parameter (?1)' : `${n} parameters (?1 to ?${n})`;
    throw new Error(`the statement takes ${forms}, but params has ${params.length} value${params.length === 1 ? '' : 's'}`);
  }
  // better-sqlite3 binds unnamed indexes from its positional arguments, in order, and named ones
  // from an object keyed by the name without its first character.
  const positional: Bindable[] = [];
  const named: Record<string, Bindable> = {};
  parameters.forEach((name, i) => {
    if (name === null || name === '?') positional.push(params[i]!);
    else {
      const key = name.slice(1);
      if (key in named) throw new Error(`parameters ${parameters.find((other) => other !== name && other?.slice(1) === key)} and ${name} cannot both be bound: pass an object`);
      named[key] = params[i]!;
    }
  });
  return Object.keys(named).length > 0 ? [...positional, named] : positional;
}

/** Replaces, in place, the values of `row` that JSON cannot carry exactly (see module doc). */
export function toJsonRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const v = row[key];
    if (typeof v === 'bigint') row[key] = toJsonInteger(v);
    else if (v instanceof Uint8Array) row[key] = Buffer.from(v).toString('base64');
  }
  return row;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * About how many bytes `row` (a {@link toJsonRow} result: strings, numbers, nulls) takes as
 * JSON, without encoding it: names and strings by their length (escapes and multi-byte
 * characters not counted), numbers as 8. For bounding what a statement may return, cheaply.
 */
export function jsonSizeOf(row: Record<string, unknown>): number {
  let size = 2;
  for (const key in row) {
    const v = row[key];
    size += key.length + 4 + (typeof v === 'string' ? v.length + 2 : 8);
  }
  return size;
}

/** A statement's rows would pass the size {@link toJsonRows} was given; it was stopped. */
export class RowsTooLargeError extends Error {
  override name = 'RowsTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the statement's rows are larger than ${maxBytes} bytes as JSON`);
  }
}

/**
 * Reads `rows` one at a time, each made JSON-ready ({@link toJsonRow}), with their JSON size
 * (estimated: {@link jsonSizeOf}). Throws {@link RowsTooLargeError} as soon as that size would
 * pass `maxBytes`, so no statement can make the host hold more; leaving the iteration early
 * resets a better-sqlite3 statement.
 */
export function toJsonRows(rows: Iterable<Record<string, unknown>>, maxBytes: number): { rows: Record<string, unknown>[]; bytes: number } {
  const out: Record<string, unknown>[] = [];
  let bytes = 2;
  for (const row of rows) {
    bytes += jsonSizeOf(toJsonRow(row)) + 1;
    if (bytes > maxBytes) throw new RowsTooLargeError(maxBytes);
    out.push(row);
  }
  return { rows: out, bytes };
}

/** A JSON number when exact, else the decimal string. */
export function toJsonInteger(v: bigint): number | string {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
}

const encoder = new TextEncoder();

/**
 * UTF-8 JSON bytes of `value`, in a buffer of their own. (Not `Buffer.from`: small Buffers are
 * slices of a shared 8 KiB pool, and `postMessage` to a worker would copy the whole pool.)
 */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
