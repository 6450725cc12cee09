/**
 * Plain views of the values that cross the GraphQL boundary: only an object's *own* properties
 * count (what JSON would carry), never those inherited from a prototype.
 */
/** True if `value` has `key` as its own property (never one inherited from a prototype). */
export function hasOwn(value: unknown, key: string): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key);
}

/** The `__typename` an object carries as its own string property, if any. */
export function ownTypename(value: unknown): string | undefined {
  return hasOwn(value, '__typename') && typeof value.__typename === 'string' ? value.__typename : undefined;
}

/** `value` as JSON for an error message, cut to 80 characters (an answer may be megabytes). */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** A copy holding the object's own enumerable properties (what JSON would carry; `toJSON` honoured). */
export function toPlain(value: unknown): Record<string, unknown> | undefined {
  if (value instanceof Error) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const json = (value as { toJSON?: unknown }).toJSON;
  const source = typeof json === 'function' ? (json.call(value) as unknown) : value;
  return source !== null && typeof source === 'object' && !Array.isArray(source) ? { ...source } : undefined;
}
