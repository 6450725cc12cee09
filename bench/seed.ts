/**
 * The benchmark data: one SQLite file in the `issues` extension's own schema, seeded once and
 * copied for every variant, so each reads identical data.
 *
 * The extension is loaded once (so its own migrations create the tables), closed, and then
 * 1,000 issues with 10 comments each are inserted with better-sqlite3 in one transaction.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fixturePath } from '../fixtures/build.js';
import { loadExtension } from '../lib/index.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { freshDir, WORK } from './common.js';

export const ISSUES = 1000;
export const COMMENTS_PER_ISSUE = 10;
/** A transpile cache shared by the measurements that are not about cold starts. */
export const SHARED_CACHE = join(WORK, 'cache');

const STATUSES = ['OPEN', 'IN_PROGRESS', 'CLOSED'];

/** Seeds `<WORK>/seed/forge_ext_issues.db`; returns its path. */
export async function seedIssues(): Promise<string> {
  const dir = freshDir('seed');
  const ext = await loadExtension(fixturePath('issues'), { dataDir: dir, cacheDir: SHARED_CACHE, isolation: 'inline', logger: silentLogger });
  await ext.close();
  const file = join(dir, 'forge_ext_issues.db');
  const db = new Database(file);
  const issue = db.prepare('INSERT INTO issues (id, repository, title, body, status) VALUES (?, ?, ?, ?, ?)');
  const comment = db.prepare('INSERT INTO comments (issue_id, body) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= ISSUES; i++) {
      issue.run(i, i % 2 ? 'forge' : 'anvil', `Issue number ${i}`, `The body of issue ${i}: something is broken.`, STATUSES[i % 3]);
      for (let c = 1; c <= COMMENTS_PER_ISSUE; c++) comment.run(i, `Comment ${c} on issue ${i}: me too.`);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return file;
}

/** Copies the seeded database into `dataDir` as extension `name`'s file; returns its path. */
export function copySeed(seedFile: string, dataDir: string, name = 'issues'): string {
  if (!existsSync(seedFile)) throw new Error(`no seeded database at ${seedFile}`);
  const to = join(dataDir, `forge_ext_${name}.db`);
  copyFileSync(seedFile, to);
  return to;
}
