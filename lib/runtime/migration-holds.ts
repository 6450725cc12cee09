/**
 * The migrations held open in this process (`loadExtension`'s `holdMigration`), by database
 * file. A held migration keeps its file's write lock until the host accepts or refuses its
 * version, and several files changed at once are composed together, so it can be held while a
 * sibling loads for seconds. A write of the version serving meanwhile would wait for that lock
 * inside SQLite's busy timeout (5 s, then `EXTENSION_STORAGE` busy), holding its call's deadline
 * and, inline, the event loop the commit needs. So {@link Extension} queues such a write here,
 * in the host, and sends it only once the hold ends (committed or rolled back). A load takes
 * its hold before its start, not when the lock is taken inside the extension's process: a write
 * sent between the two would otherwise meet the lock in SQLite (seen on a slow CI machine).
 */

const holds = new Map<string, Set<Promise<void>>>();

/**
 * Marks the migration on the database at `path` (absolute) as held. Returns the function that
 * ends the hold (committed or rolled back); calling it again does nothing.
 */
export function holdMigration(path: string): () => void {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const set = holds.get(path) ?? new Set();
  holds.set(path, set.add(held));
  return () => {
    if (!set.delete(held)) return;
    if (set.size === 0 && holds.get(path) === set) holds.delete(path);
    release();
  };
}

/** Resolves once no migration held now on `path` is any more; undefined when none is held. */
export function migrationHeld(path: string): Promise<void> | undefined {
  const set = holds.get(path);
  return set ? Promise.all(set).then(() => undefined) : undefined;
}
