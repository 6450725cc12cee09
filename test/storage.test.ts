/**
 * Issue 11 row 5 and issue 10 row 6, through a real guest on real files: a damaged database is
 * found (at load and at run time) and never written again; a full disk is a storage error, not
 * a crash, and reads go on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { databasePath } from '../lib/data/names.js';
import { createExtensionHost } from '../lib/host/host.js';
import { extensionsDir, recordingLogger, rejection, tempDir, TEST_CACHE_DIR } from './helpers.js';
import { probe, read, sha256, write } from './probe.js';

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

describe('data layer: a locked or unopenable file is a storage error, not a crash', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('another connection holding the write lock past the busy timeout: EXTENSION_STORAGE (busy), no crash counted, reads go on', async () => {
    // Inline: in worker isolation the default deadline (1 s) ends the call before the busy timeout (5 s).
    const ext = await probe(dir, { isolation: 'inline', config: { migrate: 'CREATE TABLE t (v)' } });
    const storage: Array<{ kind: string; sqliteCode: string }> = [];
    ext.on('storage', (f: { kind: string; sqliteCode: string }) => storage.push(f));
    // A backup tool or a sqlite3 shell on the same file, holding its write lock.
    const other = new Database(databasePath(dir, 'probe'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const e = await rejection(write(ext, "INSERT INTO t (v) VALUES ('while locked')"));
      assert.equal(e['code'], 'EXTENSION_STORAGE');
      assert.match(e.message, /forge_ext_probe\.db stayed locked by another connection .*SQLITE_BUSY/);
      assert.deepEqual(storage.map((f) => [f.kind, f.sqliteCode]), [['busy', 'SQLITE_BUSY']]);
      assert.equal(ext.stats.crashes, 0);
      assert.equal(ext.state, 'ready');
      // WAL: reads go on while another connection holds the write lock.
      assert.deepEqual(await read(ext, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
      other.exec('ROLLBACK');
      await write(ext, "INSERT INTO t (v) VALUES ('after')");
      assert.deepEqual(await read(ext, 'SELECT v FROM t'), [{ v: 'after' }]);
    } finally {
      other.close();
      await ext.close();
    }
  });

  it('a database path that cannot be opened (a directory in its place) fails the load as a storage error naming the file', async () => {
    mkdirSync(databasePath(dir, 'probe'), { recursive: true });
    const e = await rejection(probe(dir));
    assert.equal(e['step'], 'database');
    assert.match(e.message, /failed at database: storage: reading or writing forge_ext_probe\.db failed \(SQLITE_CANTOPEN/);
    assert.ok(!e.message.includes(dir), 'no host path in the message');
  });
});
