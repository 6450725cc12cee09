/**
 * Issue 10, the runtime half: an extension that runs SQL of its choosing (`probe`) or asks WASI
 * for absurd amounts cannot crash, hang, starve or bloat the host. Real child processes, real
 * threads, real SQLite files; CPU and memory read from /proc.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import { databasePath } from '../lib/data/names.js';
import { loadExtension } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { MAX_RANDOM_BYTES } from '../lib/runtime/wasi.js';
import { appFixture } from './apps.js';
import { ROW_1_SQL, ROW_1_WRITE_SQL, ROW_2_SQL, ROW_3_SQL } from './children/sql.js';
import { fixturePath, rejection, TEST_CACHE_DIR } from './helpers.js';
import { cpuTicks, environment, extensionProcesses, running, statusKib, waitFor } from './procfs.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; extension?: string } }>;
}

const TABLE = 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, pad BLOB)';
const MiB = 2 ** 20;

describe('process isolation (issue 10)', function () {
  const fixture = appFixture({ 'probe.wasm': 'probe', 'counter.wasm': 'counter', 'random.wasm': 'random', 'loop.wasm': 'loop' });

  /** The host with the default isolation (which must be 'process'). */
  const start = async (options: Partial<ForgeOptions> = {}) => {
    const app = await fixture.start(options);
    assert.ok(app.host.status().every((s) => s.state === 'ready'), JSON.stringify(app.host.status()));
    assert.equal(app.host.extension('probe')!.isolation, 'process', 'process isolation is the default');
    return app;
  };
  const probeSettings = (timeoutMs: number) => ({ probe: { limits: { timeoutMs }, config: { migrate: TABLE } } });
  const query = async (q: string, variables?: object): Promise<Body> =>
    (await request(fixture.app.handler).post('/graphql').send({ query: q, variables }).expect(200)).body as Body;
  const sql = (text: string) => query('query($s: String!) { sql(sql: $s) }', { s: text });
  const write = (text: string) => query('mutation($s: String!) { sqlWrite(sql: $s) }', { s: text });
  /** The probe's one process, once it has started (a replacement starts right after a kill). */
  const onlyProbeProcess = async () => {
    await waitFor(() => extensionProcesses('probe').length === 1, 30_000, 'one probe process');
    return extensionProcesses('probe')[0]!;
  };
  /** Another extension answers (the counter, in its own process) and so does the base schema. */
  const othersAnswer = async () => assert.deepEqual((await query('{ hello repositories { name } }')).data, { hello: 'world', repositories: [{ name: 'forge' }, { name: 'anvil' }] });

  it('row 1: SQL failing after the deadline (Query, Mutation, a write behind it): only that field fails; the host and the others go on', async () => {
    await start({ extensions: probeSettings(1000) });
    for (const [what, run] of [
      ['query', () => sql(ROW_1_SQL)],
      ['mutation', () => write(ROW_1_WRITE_SQL)],
    ] as const) {
      const pid = await onlyProbeProcess();
      let ended = false;
      const runaway = run().finally(() => (ended = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await othersAnswer();
      assert.equal(ended, false, `${what}: the others answered while the statement ran`);
      const body = await runaway;
      assert.equal(body.errors?.[0]?.extensions?.code, 'EXTENSION_TIMEOUT', `${what}: ${JSON.stringify(body)}`);
      assert.equal(body.errors?.[0]?.extensions?.extension, 'probe');
      await waitFor(() => !running(pid), 2000, `${what}: the runaway's process ${pid} ends`);
    }
    // The killed statement held no lock: an ordinary write goes through at once, and the
    // abandoned ones left nothing behind.
    assert.deepEqual((await write("INSERT INTO t(id, v) VALUES (-1, 'after')")).data, { sqlWrite: '[]' });
    assert.deepEqual((await sql('SELECT count(*) AS n FROM t')).data, { sql: '[{"n":1}]' });
    // Past the time the statements would have failed on their own: still alive and serving.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await othersAnswer();
    assert.deepEqual((await sql('SELECT v FROM t')).data, { sql: '[{"v":"after"}]' });
  });

  it('row 2: a statement that never ends stops using CPU at its deadline', async () => {
    await start({ extensions: probeSettings(500) });
    const pid = await onlyProbeProcess();
    const runaway = sql(ROW_2_SQL);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ticksWhileRunning = cpuTicks(pid);
    assert.ok(ticksWhileRunning !== undefined);
    const body = await runaway;
    assert.equal(body.errors?.[0]?.extensions?.code, 'EXTENSION_TIMEOUT', JSON.stringify(body));
    const tookMs = await waitFor(() => !running(pid), 2000, `process ${pid} is gone after its deadline`);
    assert.equal(cpuTicks(pid), undefined, 'no CPU use left to read');
    await othersAnswer();
    console.log(`      (runaway process gone ${tookMs.toFixed(0)} ms after its deadline answered)`);

    assert.deepEqual((await sql('SELECT 1 AS one')).data, { sql: '[{"one":1}]' }, 'a fresh process answers');
  });

  it('row 2: close() returns within 5 s while a statement that never ends runs (deadline far away)', async () => {
    await start({ extensions: probeSettings(600_000) });
    const pid = await onlyProbeProcess();
    const probe = fixture.app.host.extension('probe')!;
    const runaway = rejection(probe.resolveField({ typeName: 'Query', fieldName: 'sql', arguments: { sql: ROW_2_SQL } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = cpuTicks(pid)!;
    await waitFor(() => cpuTicks(pid)! > before + 10, 10_000, 'the statement uses CPU');
    const began = performance.now();
    await fixture.app.close();
    const closeMs = performance.now() - began;
    assert.ok(closeMs < 5000, `close() took ${closeMs.toFixed(0)} ms`);
    assert.equal(running(pid), false, 'close() killed the runaway');
    assert.equal((await runaway)['code'], 'EXTENSION_UNAVAILABLE');
  });

  it('row 3: 500 MB from SQLite and 3 GB of WASI random bytes are refused with named codes; RSS stays bounded', async () => {
    await start({ extensions: probeSettings(30_000) });
    const pid = await onlyProbeProcess();
    const hostRss = process.memoryUsage().rss;
    const body = await sql(ROW_3_SQL);
    assert.equal(body.errors?.[0]?.extensions?.code, 'EXTENSION_PROCESS_MEMORY_LIMIT', JSON.stringify(body));
    assert.match(body.errors![0]!.message, /limit of 512 MiB \(limits.processMemoryMb\)/);
    const huge = await query('{ hugeRandom }');
    assert.equal(huge.errors?.[0]?.extensions?.code, 'EXTENSION_RANDOM_BYTES_LIMIT', JSON.stringify(huge));
    assert.match(huge.errors![0]!.message, /3000000000 random bytes in one call, above the limit of 1048576/);
    // Bounds: the host grew by less than 64 MiB; the probe's process never held more than its cap.
    const hostGrewMiB = (process.memoryUsage().rss - hostRss) / MiB;
    assert.ok(hostGrewMiB < 64, `host RSS grew by ${hostGrewMiB.toFixed(0)} MiB`);
    const peakMiB = statusKib(pid, 'VmHWM') / 1024;
    assert.ok(peakMiB < 512, `the probe's process peaked at ${peakMiB.toFixed(0)} MiB`);
    assert.equal(running(pid), true, 'SQLite answered "out of memory"; the process lives on');
    assert.deepEqual((await query('{ someRandom }')).data, { someRandom: '16' });
    assert.deepEqual((await sql('SELECT length(randomblob(1000000)) AS n')).data, { sql: '[{"n":1000000}]' });
    await othersAnswer();
  });

  it(`row 3: the random-bytes cap holds on the host's own thread too (inline): ${MAX_RANDOM_BYTES} bytes per call`, async () => {
    const loaded = await loadExtension(fixturePath('random'), { dataDir: fixture.dataDir, cacheDir: TEST_CACHE_DIR, isolation: 'inline', logger: silentLogger });
    try {
      const rss = process.memoryUsage().rss;
      const e = await rejection(loaded.resolveField({ typeName: 'Query', fieldName: 'hugeRandom' }));
      assert.equal(e['code'], 'EXTENSION_RANDOM_BYTES_LIMIT');
      assert.ok((process.memoryUsage().rss - rss) / MiB < 64);
      assert.equal(await loaded.resolveField({ typeName: 'Query', fieldName: 'someRandom' }), '16');
    } finally {
      await loaded.close();
    }
  });

  it('workers: 2 runs two processes: one answers while the other spins', async () => {
    // The second process starts on first need (slow on a loaded machine): the spin's deadline leaves it time.
    await start({ extensions: { loop: { limits: { timeoutMs: 8000 }, workers: 2 } } });
    let spinEnded = false;
    const spinning = query('{ spin }').then((body) => ((spinEnded = true), body));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual((await query('{ loopOk }')).data, { loopOk: 'fine' });
    assert.equal(spinEnded, false);
    assert.equal(extensionProcesses('loop').length, 2);
    assert.equal((await spinning).errors?.[0]?.extensions?.code, 'EXTENSION_TIMEOUT');
  });

  it("hands an extension process none of the host's environment", async () => {
    process.env['FORGE_TEST_SECRET'] = 'hunter2';
    try {
      await start();
      const env = environment(await onlyProbeProcess());
      assert.ok(!env.some((v) => v.includes('hunter2')), env.join('\n'));
      assert.deepEqual(env.filter((v) => !v.startsWith('NODE_CHANNEL_')), []);
    } finally {
      delete process.env['FORGE_TEST_SECRET'];
    }
  });

  it('refuses a process memory cap that leaves no room beside the guest memory, naming both limits', async () => {
    await assert.rejects(
      loadExtension(fixturePath('counter'), { dataDir: fixture.dataDir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, limits: { memoryMb: 128, processMemoryMb: 200 } }),
      (e: Error) => e instanceof TypeError && /limits.processMemoryMb \(200\) must be at least limits.memoryMb \(128\) \+ 192/.test(e.message),
    );
    // Raising memoryMb alone raises the default cap with it.
    const big = await loadExtension(fixturePath('counter'), { dataDir: fixture.dataDir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, limits: { memoryMb: 1024 } });
    try {
      assert.equal(big.limits.processMemoryMb, 1024 + 384);
      assert.equal(await big.resolveField({ typeName: 'Query', fieldName: 'hello' }), 'world');
    } finally {
      await big.close();
    }
  });

  it('kill -9 of an extension process mid-write loses no acknowledged write; integrity_check is ok', async () => {
    const probe = await loadExtension(fixturePath('probe'), {
      dataDir: fixture.dataDir,
      cacheDir: TEST_CACHE_DIR,
      logger: silentLogger,
      config: { migrate: TABLE },
    });
    // Each write spends ~tens of ms inside its transaction (counting), then inserts its row.
    const slowInsert =
      'INSERT INTO t(id, v, pad) SELECT ?, count(*), randomblob(20000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<100000) SELECT x FROM c)';
    const acknowledged: number[] = [];
    const failures: string[] = [];
    let next = 0;
    let stop = false;
    const writer = async () => {
      while (!stop) {
        const id = next++;
        try {
          await probe.resolveField({ typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql: slowInsert, params: `[${id}]` } }, { write: true });
          acknowledged.push(id);
        } catch (e) {
          failures.push((e as { code: string }).code);
        }
      }
    };
    try {
      const writers = Array.from({ length: 3 }, writer);
      await waitFor(() => acknowledged.length >= 20, 30_000, '20 writes acknowledged');
      const pid = extensionProcesses('probe')[0]!;
      // Just after an acknowledgement the next write is already on its way in.
      const acked = acknowledged.length;
      await waitFor(() => acknowledged.length > acked, 10_000, 'one more write');
      await new Promise((resolve) => setTimeout(resolve, 15));
      process.kill(pid, 'SIGKILL');
      await waitFor(() => acknowledged.length >= acked + 40, 60_000, '40 more writes after the kill');
      stop = true;
      await Promise.all(writers);
      assert.ok(failures.includes('EXTENSION_CRASHED'), `the write in flight failed: ${failures}`);
      assert.notDeepEqual(extensionProcesses('probe'), [pid]);
    } finally {
      stop = true;
      await probe.close();
    }
    const db = new Database(databasePath(fixture.dataDir, 'probe'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const stored = new Set((db.prepare('SELECT id FROM t').all() as Array<{ id: number }>).map((r) => r.id));
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `acknowledged but lost: ${lost}`);
    } finally {
      db.close();
    }
  });

  it('an extension process does not outlive its host, even inside a runaway statement', async () => {
    const host = spawn(process.execPath, [join('dist', 'test', 'children', 'host-dies.js'), fixturePath('probe'), fixture.dataDir, TEST_CACHE_DIR], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      host.stdout!.setEncoding('utf8').once('data', resolve);
      host.once('exit', (code) => reject(new Error(`the host exited early (${code})`)));
    });
    const { extensionPids } = JSON.parse(line) as { extensionPids: number[] };
    assert.equal(extensionPids.length, 1);
    const pid = extensionPids[0]!;
    assert.ok(running(pid));
    host.kill('SIGKILL');
    const tookMs = await waitFor(() => !running(pid), 5000, `extension process ${pid} ends after its host died`);
    console.log(`      (orphaned extension process gone ${tookMs.toFixed(0)} ms after its host)`);
  });

  it('worker isolation (row 1, in a child Node process): no abort, the call fails at its deadline, close() returns', async function () {
    const child = spawn(process.execPath, [join('dist', 'test', 'children', 'worker-deadline.js'), fixturePath('probe'), fixture.dataDir, TEST_CACHE_DIR], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    assert.equal(signal, null, `the child was killed by ${signal}: ${err}`);
    assert.equal(code, 0, `exit code ${code}: ${err}\n${out}`);
    const steps = Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l) as { step: string; value: unknown }).map((s) => [s.step, s.value]));
    assert.deepEqual(steps['row 1 query'], { code: 'EXTENSION_TIMEOUT' });
    assert.deepEqual(steps['next call'], { ok: '[{"one":1}]' });
    assert.deepEqual(steps['row 1 mutation'], { code: 'EXTENSION_TIMEOUT' });
    assert.ok(['ok', 'EXTENSION_TIMEOUT'].includes(steps['ordinary write during'] as string), String(steps['ordinary write during']));
    assert.ok((steps['write lock held on, ms'] as number) < 60_000, 'the abandoned INSERT ended');
    assert.deepEqual(steps['ordinary write after'], { ok: '[]' });
    assert.deepEqual(steps['read after'], { ok: '[{"v":"after"}]' });
    assert.ok((steps['close ms'] as number) < 5000, `close() took ${steps['close ms']} ms`);
    assert.deepEqual(steps['runaway'], { code: 'EXTENSION_UNAVAILABLE' });
  });
});
