/**
 * How deeply JSON values nest, and the one limit the host holds them to ({@link MAX_JSON_DEPTH}),
 * measured without recursion so that the answer is the same on every Node line.
 */

/**
 * The deepest nesting of arrays and objects the host takes in a JSON value that crosses as a
 * whole (a `json` column of a SQL resolver, a scalar's value in an extension's answer, an
 * argument's value, a value in a parent sent to an extension, the application's context
 * grant): 1,000 levels, SQLite's own limit for its JSON functions (JSON_MAX_DEPTH: `json()` of 1,001 nested
 * arrays is "malformed JSON"). A fixed number because the engine's stack is not one: Node 26
 * writes 100,000 nested arrays with JSON.stringify where Node 20 and 24 overflow (RangeError),
 * and the response holding such a value overflows on every line, failing the whole request.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * How deeply arrays and objects nest in the JSON text `text` (`1` is 0, `[1]` 1, `{"a":[]}` 2),
 * counted without parsing (brackets outside strings; the text need not be valid). Stops counting
 * once the depth exceeds `stopAfter`.
 */
export function jsonTextDepth(text: string, stopAfter = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length && deepest <= stopAfter; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * How deeply arrays and objects nest in `value` (own enumerable properties, what JSON writes;
 * a scalar is 0), walked without recursion, so any depth is measured on any Node line. Stops
 * once the depth exceeds `stopAfter` (so a value that refers to itself ends too).
 */
export function valueDepth(value: unknown, stopAfter = Infinity): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > deepest && (deepest = depth + 1) > stopAfter) break;
    for (const item of Array.isArray(v) ? v : Object.values(v)) if (item !== null && typeof item === 'object') stack.push([item, depth + 1]);
  }
  return deepest;
}

/** A value nested more than `maxDepth` levels: {@link shallowJsonText} refused it. */
export class JsonTooDeepError extends Error {
  override name = 'JsonTooDeepError';
  constructor(readonly maxDepth: number) {
    super(`nested more than ${maxDepth} levels deep`);
  }
}

/**
 * The JSON text of `value`, for a value nested at most `maxDepth` levels (`MAX_JSON_DEPTH + 1` for an object each of whose
 * values may nest {@link MAX_JSON_DEPTH}); deeper, throws {@link JsonTooDeepError} on every Node
 * line, whether JSON.stringify overflows its stack first (Node 20 and 24) or writes it (Node 26).
 * Other errors are JSON.stringify's.
 */
export function shallowJsonText(value: unknown, maxDepth: number): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    if (e instanceof RangeError && valueDepth(value, maxDepth) > maxDepth) throw new JsonTooDeepError(maxDepth);
    throw e;
  }
  // JSON.stringify has no text for undefined, a function or a symbol.
  if (text === undefined) throw new TypeError(`${typeof value} is not JSON`);
  if (jsonTextDepth(text, maxDepth) > maxDepth) throw new JsonTooDeepError(maxDepth);
  return text;
}
