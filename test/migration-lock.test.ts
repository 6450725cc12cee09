/**
 * A new version holds its migration's write lock until the host accepts it, and several files
 * changed at once (a release switched) are composed together: so a new version that loaded fast
 * holds its lock while a sibling still loads. A `Mutation` of its serving version sent meanwhile
 * waits for the commit and succeeds (docs/host.md, "Loading and reloading"); it neither fails
 * with a busy database nor, inline, blocks the event loop. A version whose commit fails (its
 * process killed) takes its dependents' migrations back with it, and `host.close()` in the middle
 * leaves no lock held. Real components (the `counter` and `widget` WAT fixtures, the `probe`
 * JavaScript guest as the slow sibling), real SQLite files, a real symlink switch, real
 * processes and HTTP.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import express from 'express';
import request from 'supertest';
import { forgeExtensions, type ForgeOptions } from '../lib/index.js';
import { databasePath } from '../lib/data/names.js';
import { silentLogger } from '../lib/runtime/logger.js';
import type { Isolation } from '../lib/runtime/wire.js';
import { fixturePath, TEST_CACHE_DIR, tempDir } from './helpers.js';
import { extensionProcesses } from './procfs.js';
import { gql, type GqlBody } from './sql-resolvers-app.js';

/** A migration that runs for seconds (counts to 60 million: ~10 s on an idle core). */
const SLOW_MIGRATION = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000000) SELECT max(x) FROM c';

/** True while another connection holds `file`'s write lock (tried without waiting). */
function writeLocked(file: string): boolean {
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
    throw e;
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every one of `files` has its write lock held by another connection (a held migration). */
async function untilLocked(files: string[], what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!files.every(writeLocked)) {
    assert.ok(Date.now() < deadline, `${what} never held its migration`);
    await sleep(20);
  }
}

/**
 * Two releases, `1` and `2` (file name → fixture), and a watched `current` symlink to release 1;
 * `switchToNext()` swaps it to release 2 atomically (as a deploy does). The host serves with
 * `options` (its own dataDir, cache and silent logger, watching).
 */
async function releases(files: { 1: Record<string, string>; 2: Record<string, string> }, options: ForgeOptions) {
  const root = tempDir();
  const data = tempDir();
  const dir = join(root.dir, 'current');
  for (const release of [1, 2] as const) {
    mkdirSync(join(root.dir, String(release)));
    for (const [file, fixture] of Object.entries(files[release])) copyFileSync(fixturePath(fixture), join(root.dir, String(release), file));
  }
  symlinkSync(join(root.dir, '1'), dir);
  const forge = forgeExtensions(dir, { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, watch: true, ...options });
  const app = express().use('/graphql', forge);
  return {
    forge,
    app,
    db: (name: string) => databasePath(data.dir, name),
    switchToNext: () => {
      symlinkSync(join(root.dir, '2'), `${dir}.next`);
      renameSync(`${dir}.next`, dir);
    },
    close: async () => {
      await forge.host.close();
      root.cleanup();
      data.cleanup();
    },
  };
}

describe("a held migration and the serving version's writes", function () {
  this.timeout(120_000);

  for (const isolation of ['process', 'worker', 'inline'] as Isolation[]) {
    it(`${isolation}: a Mutation of the serving version waits for the new version's held migration (a release switched, its sibling still loading) and succeeds`, async () => {
      const { forge, app, db, switchToNext, close } = await releases(
        { 1: { 'counter.wasm': 'counter' }, 2: { 'counter.wasm': 'counter-v2', 'slow.wasm': 'probe' } },
        { isolation, extensions: { slow: { isolation: 'process', config: { sdl: 'extend type Query { slowOk: String }', migrate: SLOW_MIGRATION } } } },
      );
      try {
        await forge.host.ready();
        assert.deepEqual((await gql(app, 'mutation { bump { changes } }')).data, { bump: { changes: 1 } });

        // Release 2: counter's new version loads in milliseconds, `slow` migrates for seconds.
        switchToNext();
        await untilLocked([db('counter')], "counter's new version");
        assert.equal(forge.host.extension('slow'), undefined, 'the sibling loaded before the mutation was sent: the test proves nothing');
        // The version serving now gets a write while the new one holds the lock.
        let ticks = 0;
        const ticker = setInterval(() => ticks++, 100);
        const { data: answer, errors } = await gql(app, 'mutation { bump { changes } }');
        clearInterval(ticker);
        assert.equal(errors, undefined, `the serving version's Mutation failed while a new version held its migration: ${JSON.stringify(errors)}`);
        assert.deepEqual(answer, { bump: { changes: 1 } });
        assert.ok(ticks >= 5, `the event loop was blocked while the Mutation waited (${ticks} ticks of 100 ms)`);
        assert.equal(forge.host.status().find((s) => s.name === 'slow')?.state, 'ready', 'the mutation did not wait for the release to swap in');
        assert.deepEqual((await gql(app, '{ counter { n } version }')).data, { counter: [{ n: 2 }], version: 2 });
      } finally {
        await close();
      }
    });
  }

  it("process: a new version whose commit fails (its process killed while it held the migration) takes its dependent's migration back with it", async () => {
    // Release 2: `widget` (new, defines Widget), `counter` (a probe now: uses Widget, renames
    // the serving version's table away) and `slow` (keeps the release loading for seconds).
    const { forge, app, db, switchToNext, close } = await releases(
      { 1: { 'counter.wasm': 'counter' }, 2: { 'widget.wasm': 'widget', 'counter.wasm': 'probe', 'slow.wasm': 'probe' } },
      {
        namespace: 'none',
        extensions: {
          counter: { config: { sdl: 'extend type Widget { viaCounter: String }', migrate: 'ALTER TABLE counter RENAME TO gone' } },
          slow: { config: { sdl: 'extend type Query { slowOk: String }', migrate: SLOW_MIGRATION } },
        },
      },
    );
    try {
      await forge.host.ready();
      assert.deepEqual((await gql(app, '{ counter { n } }')).data, { counter: [{ n: 0 }] });
      switchToNext();
      await untilLocked([db('widget'), db('counter')], 'widget or counter');
      assert.equal(forge.host.extension('slow'), undefined, 'the release swapped in before the kill: the test proves nothing');
      const [widget] = extensionProcesses('widget');
      assert.ok(widget, 'no widget process');
      process.kill(widget, 'SIGKILL');
      const until = Date.now() + 60_000;
      while (forge.host.status().find((s) => s.name === 'slow')?.state !== 'ready') {
        assert.ok(Date.now() < until, `the release never swapped in: ${JSON.stringify(forge.host.status())}`);
        await sleep(50);
      }
      const status = Object.fromEntries(forge.host.status().map((s) => [s.name, s]));
      assert.match(String(status['widget']!.error), /failed at migrate: the extension's runner is gone/);
      assert.match(String(status['counter']!.error), /failed at compose: .*Widget/);
      const { data: answer, errors } = await gql(app, '{ counter { n } }');
      assert.equal(errors, undefined, `the serving counter lost its table to a version that never served: ${JSON.stringify(errors)}`);
      assert.deepEqual(answer, { counter: [{ n: 0 }] });
    } finally {
      await close();
    }
  });

  it('host.close() while a new version holds its migration and a sibling still loads: it closes, and leaves no lock held and no half release', async () => {
    const { forge, app, db, switchToNext, close } = await releases(
      { 1: { 'counter.wasm': 'counter' }, 2: { 'counter.wasm': 'counter-v2', 'slow.wasm': 'probe' } },
      { extensions: { slow: { config: { sdl: 'extend type Query { slowOk: String }', migrate: `CREATE TABLE t (x); ${SLOW_MIGRATION}` } } } },
    );
    try {
      await forge.host.ready();
      switchToNext();
      await untilLocked([db('counter')], "counter's new version");
      // A write of the serving version waits on the hold while the host closes.
      const waiting = request(app).post('/graphql').send({ query: 'mutation { bump { changes } }' }).then((res) => res);
      await sleep(500); // most likely the request reaches the host first; if not, it is refused (503)
      await forge.host.close();
      const res = await waiting;
      const errors = (res.body as GqlBody).errors;
      assert.ok(res.status === 503 || errors === undefined || errors.every((e) => e.extensions?.code === 'EXTENSION_UNAVAILABLE'), JSON.stringify(res.body));
      assert.equal(writeLocked(db('counter')), false, "the held migration's lock outlived host.close()");
      assert.equal(writeLocked(db('slow')), false, "the aborted sibling's lock outlived host.close()");
      const slow = new Database(db('slow'), { readonly: true });
      try {
        assert.deepEqual(slow.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all(), [], "the aborted sibling's migration stayed");
      } finally {
        slow.close();
      }
    } finally {
      await close();
    }
  });
});
