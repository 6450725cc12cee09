/**
 * Migrations for the guest SDK: an ordered list of SQL scripts, each applied once, tracked in
 * the table `_forge_migrations` of the extension's database. The host runs `migrate` in one
 * transaction, so a failing script leaves the database exactly as it was.
 */
import type { Database } from './database.js';

const TABLE = '_forge_migrations';

/** Applies the scripts not applied yet; refuses a database changed under it. Returns how many ran. */
export function applyMigrations(db: Database, scripts: readonly string[]): number {
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (
       version INTEGER PRIMARY KEY,
       checksum TEXT NOT NULL,
       applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     )`,
  );
  const applied = db.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${TABLE} ORDER BY version`);
  if (applied.length > scripts.length) {
    throw new Error(`the database is at migration ${applied.length}, but this version has only ${scripts.length}: it was written by a newer version`);
  }
  for (const { version, checksum } of applied) {
    if (checksum !== fnv1a(scripts[version - 1]!)) {
      throw new Error(`migration ${version} was changed after it was applied; add a new migration instead of editing an old one`);
    }
  }
  for (let version = applied.length + 1; version <= scripts.length; version++) {
    const script = scripts[version - 1]!;
    try {
      db.exec(script);
    } catch (e) {
      throw new Error(`migration ${version} failed: ${(e as Error).message}`);
    }
    db.execute(`INSERT INTO ${TABLE} (version, checksum) VALUES (?, ?)`, [version, fnv1a(script)]);
  }
  return scripts.length - applied.length;
}

/** FNV-1a (32-bit) of a script: enough to notice an edited migration. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
