/**
 * What the data layer's checks (issue 11) cost: `node dist/bench/data-layer.js` (after
 * `npx tsc -p . && node dist/fixtures/build.js`). Not part of `npm test`, not part of `npm run bench`.
 *
 *   1. Per call: the post-call checks of a Mutation (`inTransaction`, fault) and of a Query
 *      (`query_only` read back), the SQLite-side transaction-control check (EXPLAIN, once per
 *      distinct statement: cached statements skip it; every statement of an execute-batch pays it),
 *      and a whole Mutation through a real guest (probe, inline) for scale.
 *   2. At load: `PRAGMA quick_check` on a 50 MB database (opening with and without it).
 *
 * Prints a markdown table; BENCH_DB_MB changes the database size (default 50).
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BUILD_DIR, fixturePath } from '../fixtures/build.js';
import { ExtensionDatabase } from '../lib/data/database.js';
import { databasePath } from '../lib/data/names.js';
import { assertSqlAllowed } from '../lib/data/sql-guard.js';
import { assertNoTransactionControl } from '../lib/data/transaction-check.js';
import { loadExtension } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { freshDir } from './common.js';

const dbMb = Number(process.env['BENCH_DB_MB'] ?? 50);

/** Median µs per iteration of `fn`, over `rounds` rounds of `n` iterations. */
function perCall(fn: () => void, n = 5000, rounds = 5): number {
  for (let i = 0; i < Math.min(n, 500); i++) fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    times.push(Number(process.hrtime.bigint() - t) / 1000 / n);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

async function perCallAsync(fn: () => Promise<unknown>, n = 2000, rounds = 5): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1000 / n);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

const dir = freshDir('data-layer');
const rows: Array<[string, string]> = [];
const params = Buffer.from('[1]');

// 1. Per call, on the data layer.
{
  const db = new ExtensionDatabase(dir, 'calls');
  db.write(() => db.executeBatch('CREATE TABLE t (v INTEGER)'));
  // The same file setup as ExtensionDatabase (WAL), without its checks.
  const raw = new Database(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.exec('CREATE TABLE t (v INTEGER); CREATE TABLE b (v INTEGER)');
  const sql = 'INSERT INTO t (v) VALUES (?)';

  const mutation = perCall(() => db.write(() => db.execute(sql, params)));
  const query = perCall(() => db.read(() => db.query('SELECT v FROM t WHERE rowid = ?', params)));
  const inTransaction = perCall(() => void raw.inTransaction, 200_000);
  const queryOnly = perCall(() => raw.pragma('query_only', { simple: true }), 50_000);
  const rawInsert = raw.prepare(sql);
  const rawMutation = perCall(() => {
    raw.exec('BEGIN IMMEDIATE');
    rawInsert.run(1);
    raw.exec('COMMIT');
  });
  const explain = perCall(() => assertNoTransactionControl(raw, sql), 5000);
  const guard = perCall(() => assertSqlAllowed(sql), 50_000);
  db.write(() => db.executeBatch('CREATE TABLE b (v INTEGER)'));
  const batchSql = 'INSERT INTO b (v) VALUES (1); INSERT INTO b (v) VALUES (2); DELETE FROM b';
  const batch = perCall(() => db.write(() => db.executeBatch(batchSql)), 2000);
  const rawBatch = perCall(() => raw.exec(`BEGIN; ${batchSql}; COMMIT`), 2000);
  rows.push(
    ['Mutation on the data layer: write(execute INSERT), cached statement (all checks included)', `${mutation.toFixed(2)} µs`],
    ['… the same INSERT in BEGIN IMMEDIATE/COMMIT on a bare connection, for comparison', `${rawMutation.toFixed(2)} µs`],
    ['… of which the post-call check `db.inTransaction` (+ fault flag)', `${(inTransaction * 1000).toFixed(0)} ns`],
    ['Query on the data layer: read(query SELECT), cached statement', `${query.toFixed(2)} µs`],
    ['… of which the post-call check `PRAGMA query_only` read back', `${queryOnly.toFixed(2)} µs`],
    ['SQLite-side transaction-control check (EXPLAIN), once per distinct statement', `${explain.toFixed(2)} µs`],
    ['SQL guard (tokenizer), once per distinct statement', `${guard.toFixed(2)} µs`],
    ['execute-batch of 3 statements in write() (split, guard, prepare, EXPLAIN each)', `${batch.toFixed(2)} µs`],
    ['… the same 3 statements with a bare `db.exec` in BEGIN/COMMIT (no checks), for comparison', `${rawBatch.toFixed(2)} µs`],
  );
  db.close();
  raw.close();
}

// A whole Mutation through a real guest, for scale.
{
  const ext = await loadExtension(fixturePath('probe'), {
    dataDir: dir,
    // The tests' transpile cache: the probe is transpiled once for both.
    cacheDir: join(BUILD_DIR, 'transpile-cache'),
    logger: silentLogger,
    isolation: 'inline',
    config: { migrate: 'CREATE TABLE IF NOT EXISTS t (v INTEGER)' },
  });
  const args = { sql: 'INSERT INTO t (v) VALUES (?)', params: '[1]', mode: 'execute' };
  const guest = await perCallAsync(() => ext.resolveField({ typeName: 'Mutation', fieldName: 'sqlWrite', arguments: args }, { write: true }));
  rows.push(['Mutation through the probe guest (inline), whole call', `${guest.toFixed(1)} µs`]);
  await ext.close();
}

// 2. quick_check at load.
{
  const path = databasePath(dir, 'big');
  rmSync(path, { force: true });
  const seed = new Database(path);
  seed.pragma('journal_mode = WAL');
  seed.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, k TEXT, b BLOB); CREATE INDEX big_k ON big (k)');
  const n = Math.round((dbMb * 2 ** 20) / 1400);
  seed.prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) INSERT INTO big (k, b) SELECT hex(randomblob(8)), randomblob(1000) FROM c").run(n);
  seed.close();
  const size = statSync(path).size;
  const open = (verifyIntegrity: boolean) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      new ExtensionDatabase(dir, 'big', { verifyIntegrity }).close();
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[2]!;
  };
  const without = open(false);
  const withCheck = open(true);
  rows.push(
    [`Open a ${(size / 2 ** 20).toFixed(0)} MB database (${n.toLocaleString('en')} rows, one index) without quick_check`, `${without.toFixed(1)} ms`],
    [`… with \`PRAGMA quick_check\` (once per loaded version)`, `${withCheck.toFixed(1)} ms`],
  );
}

rmSync(dir, { recursive: true, force: true });
console.log(`Node ${process.version}, medians.\n\n| what | cost |\n| --- | --- |`);
for (const [what, cost] of rows) console.log(`| ${what} | ${cost} |`);
