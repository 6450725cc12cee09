/**
 * Issue 11 (and issue 10 row 6), each row through a real guest (`probe`, which runs the SQL a
 * request chooses) on real SQLite files: transactions no extension can escape, values that bind
 * as written, damage detected, storage faults reported as such.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { databasePath } from '../lib/data/names.js';
import { createExtensionHost } from '../lib/host/host.js';
import { ExtensionLoadError } from '../lib/runtime/errors.js';
import type { Extension } from '../lib/runtime/extension.js';
import { loadExtension, type Isolation } from '../lib/runtime/load.js';
import { silentLogger, type Logger } from '../lib/runtime/logger.js';
import { extensionsDir, fixturePath, recordingLogger, rejection, tempDir, TEST_CACHE_DIR } from './helpers.js';

interface ProbeOptions {
  config?: Record<string, unknown>;
  isolation?: Isolation;
  logger?: Logger;
}
const probe = (dataDir: string, { config, isolation = 'inline', logger = silentLogger }: ProbeOptions = {}) =>
  loadExtension(fixturePath('probe'), { dataDir, cacheDir: TEST_CACHE_DIR, logger, isolation, ...(config ? { config } : {}) });

/** Rows of a read-only `Query.sql` call. */
async function read(ext: Extension, sql: string, params: unknown = []): Promise<Array<Record<string, unknown>>> {
  const text = await ext.resolveField({ typeName: 'Query', fieldName: 'sql', arguments: { sql, params: JSON.stringify(params) } });
  return JSON.parse(text as string) as Array<Record<string, unknown>>;
}

/** A `Mutation.sqlWrite` call (its own transaction). */
const write = (ext: Extension, sql: string, args: { params?: unknown; mode?: string; fail?: boolean } = {}) =>
  ext.resolveField(
    { typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql, mode: args.mode ?? 'execute', params: JSON.stringify(args.params ?? []), fail: args.fail ?? false } },
    { write: true },
  );

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('data layer: transactions no extension can escape (issue 11 rows 1-2)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const ROW_1 = "CREATE TABLE IF NOT EXISTS x1(trigger, begin); COMMIT; INSERT INTO t(v) VALUES('after')";

  for (const fail of [true, false]) {
    it(`row 1: a Mutation batch with COMMIT after a \`trigger, begin\` table commits nothing (${fail ? 'then answers err' : 'answers ok'})`, async () => {
      const ext = await probe(dir, { config: { migrate: 'CREATE TABLE t(v)' } });
      try {
        const e = await rejection(write(ext, ROW_1, { mode: 'batch', fail }));
        assert.equal(e['code'], 'EXTENSION_ERROR');
        assert.match(e.message, /SQL refused \(COMMIT\)/);
        assert.deepEqual(await read(ext, "SELECT name FROM sqlite_master WHERE name = 'x1'"), []);
        assert.deepEqual(await read(ext, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
        // The extension keeps serving: the next Mutation commits as usual.
        await write(ext, "INSERT INTO t(v) VALUES ('next')");
        assert.deepEqual(await read(ext, 'SELECT v FROM t'), [{ v: 'next' }]);
      } finally {
        await ext.close();
      }
      // On the file itself, with another connection.
      const db = new Database(databasePath(dir, 'probe'), { readonly: true });
      assert.deepEqual(db.prepare('SELECT v FROM t').all(), [{ v: 'next' }]);
      assert.deepEqual(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'x1'").get(), { n: 0 });
      db.close();
    });
  }

  /** Tables, indexes, rows and user_version of the probe's file, read with another connection. */
  function snapshot(): unknown {
    const db = new Database(databasePath(dir, 'probe'), { readonly: true });
    try {
      const schema = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
      const rows = db.prepare('SELECT x FROM before_migration ORDER BY x').all();
      return { schema, rows, userVersion: db.pragma('user_version', { simple: true }) };
    } finally {
      db.close();
    }
  }

  for (const [label, migrate, reason] of [
    [
      'row 2: COMMIT after a `trigger, begin` table',
      'CREATE TABLE IF NOT EXISTS keep(x); CREATE TABLE IF NOT EXISTS m1(trigger, begin); COMMIT; CREATE TABLE half_applied(x); INSERT INTO half_applied VALUES (42); SELECT no_such_function();',
      /SQL refused \(COMMIT\)/,
    ],
    ['a statement failing half-way', 'CREATE TABLE keep(x); PRAGMA user_version = 9; CREATE TABLE half_applied(x); INSERT INTO half_applied VALUES (42); SELECT no_such_function();', /no such function/],
  ] as const) {
    it(`${label}: a failed migration leaves the database exactly as before`, async () => {
      const db = new Database(databasePath(dir, 'probe'));
      db.exec('CREATE TABLE before_migration(x); INSERT INTO before_migration VALUES (1), (2); PRAGMA user_version = 3');
      db.close();
      const before = snapshot();
      const e = await rejection(probe(dir, { config: { migrate } }));
      assert.ok(e instanceof ExtensionLoadError);
      assert.equal(e.step, 'migrate');
      assert.match(e.message, reason);
      assert.deepEqual(snapshot(), before);
    });
  }
});

describe('data layer: values bind as written (issue 11 rows 3-4)', () => {
  let dir: string;
  let cleanup: () => void;
  let ext: Extension;
  before(async () => {
    ({ dir, cleanup } = tempDir());
    ext = await probe(dir, { config: { migrate: 'CREATE TABLE codes (code TEXT)' } });
  });
  after(async () => {
    await ext.close();
    cleanup();
  });

  it('row 3: JSON integers bind as INTEGER, other numbers as REAL', async () => {
    assert.deepEqual(await read(ext, 'SELECT typeof(?) AS t', [1]), [{ t: 'integer' }]);
    assert.deepEqual(await read(ext, 'SELECT ? / 2 AS r', [5]), [{ r: 2 }]);
    assert.deepEqual(await read(ext, "SELECT json_object('n', ?) AS j", [1]), [{ j: '{"n":1}' }]);
    await write(ext, 'INSERT INTO codes (code) VALUES (?)', { params: [123] });
    assert.deepEqual(await read(ext, "SELECT code FROM codes WHERE code = '123'"), [{ code: '123' }]);
    // Non-integral, and integral beyond 2^53 - 1 (JSON cannot say which integer it was): REAL.
    assert.deepEqual(await read(ext, 'SELECT typeof(?) AS a, ? / 2 AS b, typeof(?) AS c', [1.5, 5.0, 2 ** 60]), [{ a: 'real', b: 2, c: 'real' }]);
    assert.deepEqual(await read(ext, 'SELECT typeof(?) AS t, ? AS v', [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), [{ t: 'integer', v: -Number.MAX_SAFE_INTEGER }]);
    assert.deepEqual(await read(ext, 'SELECT typeof(:b) AS t, :b AS v', { b: true }), [{ t: 'integer', v: 1 }]);
  });

  it('row 4: numbered parameters bind from an array by number', async () => {
    assert.deepEqual(await read(ext, 'SELECT ?2 AS b, ?1 AS a', [10, 20]), [{ b: 20, a: 10 }]);
    assert.deepEqual(await read(ext, 'SELECT ?1 + ?1 AS s', [7]), [{ s: 14 }]);
    // '?1' inside a string literal is not a parameter: plain `?` still binds in order.
    assert.deepEqual(await read(ext, "SELECT '?1' AS lit, ? AS p", [5]), [{ lit: '?1', p: 5 }]);
  });
});

describe('data layer: what an extension is told and may ask (issue 11 rows 6, 8)', () => {
  let dir: string;
  let cleanup: () => void;
  let ext: Extension;
  before(async () => {
    ({ dir, cleanup } = tempDir());
    ext = await probe(dir, { config: { migrate: 'CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent (id))' } });
  });
  after(async () => {
    await ext.close();
    cleanup();
  });

  it('row 6: init and migrate receive the file name, never a host path', async () => {
    const paths = JSON.parse((await ext.resolveField({ typeName: 'Query', fieldName: 'dbPaths' })) as string) as Record<string, string>;
    assert.deepEqual(paths, { init: 'forge_ext_probe.db', migrate: 'forge_ext_probe.db' });
  });

  it('row 8: sqlite_compileoption_get and setting foreign_keys are refused; foreign keys are enforced', async () => {
    for (const [sql, rule] of [
      ['SELECT sqlite_compileoption_get(0)', 'sqlite_compileoption_get'],
      ['PRAGMA foreign_keys = ON', 'PRAGMA foreign_keys'],
      ['PRAGMA foreign_keys = OFF', 'PRAGMA foreign_keys'],
    ] as const) {
      const e = await rejection(read(ext, sql));
      assert.equal(e['code'], 'EXTENSION_ERROR');
      assert.ok(e.message.startsWith(`SQL refused (${rule})`), e.message);
    }
    assert.deepEqual(await read(ext, 'PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
    const e = await rejection(write(ext, 'INSERT INTO child (p) VALUES (42)'));
    assert.match(e.message, /FOREIGN KEY constraint failed/);
  });
});

describe('data layer: a damaged database gets no write (issue 11 row 5)', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const PAGE = 4096;
  /** A ~4 MB probe database (one 3.5 KB row per page), closed (so checkpointed into the file). */
  async function fourMegabytes(): Promise<string> {
    const ext = await probe(dir, { config: { migrate: 'CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)' } });
    await write(ext, 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) INSERT INTO big (b) SELECT randomblob(3500) FROM c');
    await ext.close();
    const file = databasePath(dir, 'probe');
    assert.ok(statSync(file).size >= 4_000_000, `the database is ${statSync(file).size} bytes`);
    return file;
  }
  /** Overwrites page `n` (1-based) of `file` with random bytes, as a failing disk would. */
  function overwritePage(file: string, n: number): void {
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(PAGE), 0, PAGE, (n - 1) * PAGE);
    closeSync(fd);
  }

  for (const isolation of ['inline', 'worker'] as const) {
    it(`found at load (quick_check, ${isolation}): the extension fails with a status error and an event, the file is untouched`, async () => {
      const file = await fourMegabytes();
      overwritePage(file, 600);
      const before = sha256(file);
      const exts = extensionsDir({ 'probe.wasm': 'probe' });
      const logger = recordingLogger();
      const host = createExtensionHost(exts.dir, { dataDir: dir, cacheDir: TEST_CACHE_DIR, logger, watch: false, isolation });
      const failed: Array<{ name: string; error?: Error }> = [];
      host.on('failed', (event: { name: string; error?: Error }) => failed.push(event));
      try {
        await host.ready();
        const [status] = host.status();
        assert.equal(status!.state, 'failed');
        assert.match(status!.error!, /failed at database: storage: the database file forge_ext_probe\.db is damaged/);
        assert.match(status!.error!, /makes no write.*Restore it from a backup/);
        assert.equal(failed.length, 1);
        assert.ok(logger.lines.some((l) => l.level === 'error' && /forge_ext_probe\.db is damaged/.test(l.msg)));
        assert.equal(sha256(file), before, 'the damaged file got no write');
      } finally {
        await host.close();
        exts.cleanup();
      }
    });
  }

  for (const isolation of ['inline', 'worker'] as const) {
    it(`found at run time (SQLITE_CORRUPT, ${isolation}): EXTENSION_STORAGE, the extension stops for good, no write reaches the file`, async () => {
      const file = await fourMegabytes();
      const logger = recordingLogger();
      const ext = await probe(dir, { isolation, logger });
      const events: string[] = [];
      ext.on('storage', (f: { kind: string }) => events.push(`storage:${f.kind}`));
      ext.on('failed', ({ reason }: { reason: string }) => events.push(`failed:${reason}`));
      try {
        overwritePage(file, 600);
        // Another connection's write makes the extension's connection drop its page cache.
        const other = new Database(file);
        other.exec('CREATE TABLE ping (x)');
        other.close();
        const hashes = () => [file, `${file}-wal`].map((f) => (existsSync(f) ? sha256(f) : 'none'));
        const before = hashes();

        const e = await rejection(read(ext, 'SELECT sum(length(b)) AS n FROM big'));
        assert.equal(e['code'], 'EXTENSION_STORAGE');
        assert.match(e.message, /the database file forge_ext_probe\.db is damaged \(SQLITE_CORRUPT/);
        assert.equal(ext.state, 'failed');
        assert.match(ext.stateReason!, /Restore it from a backup/);
        assert.deepEqual(events.map((x) => x.split(':')[0]), ['storage', 'failed']);
        assert.ok(logger.lines.some((l) => l.level === 'error' && /SQLITE_CORRUPT/.test(l.msg)));
        assert.equal(ext.stats.crashes, 0, 'not counted as a crash');

        const refused = await rejection(write(ext, "INSERT INTO ping (x) VALUES ('no')"));
        assert.equal(refused['code'], 'EXTENSION_UNAVAILABLE');
        assert.deepEqual(hashes(), before, 'no write reached the file');
      } finally {
        await ext.close();
      }
    });
  }
});

describe('data layer: a full disk is a storage error, not a crash (issue 10 row 6)', function () {
  this.timeout(120_000);
  let mount: string | undefined;
  let cleanup = () => {};
  before(function () {
    // A real full disk: a 2 MiB tmpfs as dataDir. Mounting needs root (CAP_SYS_ADMIN).
    if (process.getuid?.() !== 0) return this.skip();
    const made = tempDir('forge-full-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', made.dir], { stdio: 'pipe' });
    } catch (e) {
      made.cleanup();
      console.log(`      (skipped: mounting a 2 MiB tmpfs failed: ${(e as Error).message.split('\n')[0]})`);
      return this.skip();
    }
    mount = made.dir;
    cleanup = () => {
      execFileSync('umount', [made.dir]);
      made.cleanup();
    };
  });
  after(() => cleanup());

  it('EXTENSION_STORAGE with an event and a log line; never opens the breaker; reads keep working', async () => {
    const dataDir = join(mount!, 'data');
    mkdirSync(dataDir);
    const logger = recordingLogger();
    const ext = await probe(dataDir, { isolation: 'worker', logger, config: { migrate: 'CREATE TABLE f (b BLOB)' } });
    const storage: Array<{ kind: string; sqliteCode: string }> = [];
    ext.on('storage', (f: { kind: string; sqliteCode: string }) => storage.push(f));
    try {
      let written = 0;
      let failure: (Error & Record<string, unknown>) | undefined;
      for (let i = 0; i < 40 && !failure; i++) {
        try {
          await write(ext, 'INSERT INTO f (b) VALUES (randomblob(200000))');
          written++;
        } catch (e) {
          failure = e as Error & Record<string, unknown>;
        }
      }
      assert.ok(failure, 'the disk never filled');
      assert.equal(failure['code'], 'EXTENSION_STORAGE');
      assert.match(failure.message, /the disk holding forge_ext_probe\.db is full \(SQLITE_FULL/);
      // More failing writes than the breaker's limit: still serving, no crash counted.
      for (let i = 0; i < 6; i++) {
        const e = await rejection(write(ext, 'INSERT INTO f (b) VALUES (randomblob(200000))'));
        assert.equal(e['code'], 'EXTENSION_STORAGE');
      }
      assert.equal(ext.state, 'ready');
      assert.equal(ext.stats.crashes, 0);
      assert.equal(storage.length, 7);
      assert.ok(storage.every((f) => f.kind === 'full' && f.sqliteCode === 'SQLITE_FULL'));
      assert.equal(logger.lines.filter((l) => l.level === 'error' && /SQLITE_FULL/.test(l.msg)).length, 7);
      // Reads go on, and see exactly the writes that succeeded.
      assert.deepEqual(await read(ext, 'SELECT count(*) AS n FROM f'), [{ n: written }]);
    } finally {
      await ext.close();
    }
  });
});
