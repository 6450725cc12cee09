/**
 * The prepared statements one connection keeps, by their SQL text, least recently used evicted
 * first.
 *
 * Bounded by count and by size: a prepared statement's memory grows with its SQL text, which the
 * guest chooses. At most {@link MAX_CACHED_SQL_CHARS} characters of SQL are kept (the least
 * recently used go first); a statement longer than {@link MAX_CACHEABLE_SQL_CHARS} characters is
 * run but never kept.
 */

/** How many characters of SQL text one cache keeps at most, all statements together. */
export const MAX_CACHED_SQL_CHARS = 1024 * 1024;
/** A statement whose SQL text is longer than this (characters) is never kept. */
export const MAX_CACHEABLE_SQL_CHARS = 64 * 1024;

/** An LRU map from SQL text to `T` (a prepared statement), bounded by count and SQL characters. */
export class StatementCache<T> {
  /** In LRU order: a `Map` iterates in insertion order, so the first key is the least recent. */
  readonly #entries = new Map<string, T>();

  /** `maxEntries`: how many statements are kept at most (see `statementCacheSize`). */
  constructor(readonly maxEntries: number) {}

  /** The statement kept for `sql`, if any (then the most recently used). */
  get(sql: string): T | undefined {
    const cached = this.#entries.get(sql);
    if (cached !== undefined) {
      // Refresh its place in the LRU order.
      this.#entries.delete(sql);
      this.#entries.set(sql, cached);
    }
    return cached;
  }

  /** Keeps `value` for `sql` (unless `sql` is too long), evicting the least recently used first. */
  set(sql: string, value: T): void {
    if (sql.length > MAX_CACHEABLE_SQL_CHARS) return;
    let chars = sql.length;
    for (const key of this.#entries.keys()) chars += key.length;
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.maxEntries && chars <= MAX_CACHED_SQL_CHARS) break;
      this.#entries.delete(key);
      chars -= key.length;
    }
    this.#entries.set(sql, value);
  }

  /** Forgets every statement. */
  clear(): void {
    this.#entries.clear();
  }
}
