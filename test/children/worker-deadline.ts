/**
 * Run by process-isolation.test.ts in its own Node process, so that an abort (the failure this
 * guards against: WiseLibs/better-sqlite3#842) shows as a failing exit code instead of killing
 * mocha. Issue 10 row 1 in worker isolation: SQL that fails after the deadline, in a Query and
 * in a Mutation; then close() with a statement still running. Prints one JSON line per step.
 *
 *   node dist/test/children/worker-deadline.js <probe.wasm> <dataDir> <cacheDir>
 */
import Database from 'better-sqlite3';
import { databasePath } from '../../lib/data/names.js';
import { loadExtension } from '../../lib/runtime/load.js';
import { silentLogger } from '../../lib/runtime/logger.js';
import { ROW_1_SQL, ROW_1_WRITE_SQL } from './sql.js';

const [file, dataDir, cacheDir] = process.argv.slice(2) as [string, string, string];
const print = (step: string, value: unknown) => console.log(JSON.stringify({ step, value }));
const outcome = (p: Promise<unknown>) => p.then((ok) => ({ ok }), (e: { code?: string }) => ({ code: e.code }));

const ext = await loadExtension(file, {
  dataDir,
  cacheDir,
  isolation: 'worker',
  logger: silentLogger,
  limits: { timeoutMs: 1000 },
  config: { migrate: 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)' },
});
const sql = (text: string) => ext.resolveField({ typeName: 'Query', fieldName: 'sql', arguments: { sql: text } });
const write = (text: string) => ext.resolveField({ typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql: text } }, { write: true });

print('row 1 query', await outcome(sql(ROW_1_SQL)));
print('next call', await outcome(sql('SELECT 1 AS one')));
print('row 1 mutation', await outcome(write(ROW_1_WRITE_SQL)));
// The abandoned statements end (with their errors) seconds later, inside the old threads; until
// the abandoned INSERT ends it holds the write lock, so an ordinary write now waits for it (and
// may time out itself: SQLITE_BUSY after the busy timeout, inside SQLite, the case that aborted).
const during = await outcome(write(`INSERT INTO t(id, v) VALUES (-2, 'during')`));
print('ordinary write during', 'ok' in during ? 'ok' : during.code);
// Once the abandoned INSERT has ended (another connection can take the write lock), writes go through.
const probeLock = new Database(databasePath(dataDir, 'probe'), { timeout: 0 });
let lockedMs = 0;
for (const began = performance.now(); performance.now() - began < 60_000; lockedMs = performance.now() - began) {
  try {
    probeLock.exec('BEGIN IMMEDIATE; ROLLBACK');
    break;
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
probeLock.close();
print('write lock held on, ms', Math.round(lockedMs));
print('ordinary write after', await outcome(write(`INSERT INTO t(id, v) VALUES (-1, 'after')`)));
print('read after', await outcome(sql('SELECT v FROM t WHERE id = -1')));

// close() while a statement runs (it ends by itself ~5 s later): close must not wait for it.
const runaway = outcome(sql('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 15000000) SELECT count(*) AS n FROM c'));
await new Promise((resolve) => setTimeout(resolve, 300));
const began = performance.now();
await ext.close();
print('close ms', Math.round(performance.now() - began));
print('runaway', await runaway);
