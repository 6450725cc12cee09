/**
 * A new version's migration stands only once the host accepts the version: until composition
 * has accepted it, the migration's transaction stays open in the extension's isolation, and a
 * version refused at composition rolls it back (docs/host.md, "Loading and reloading"). Real
 * components (the `counter` WAT fixture serving, the `probe` JavaScript guest migrating), real
 * SQLite files, real file changes and HTTP.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import express from 'express';
import { forgeExtensions, loadExtension } from '../lib/index.js';
import { databasePath } from '../lib/data/names.js';
import { silentLogger } from '../lib/runtime/logger.js';
import type { Isolation } from '../lib/runtime/wire.js';
import { fixturePath, rejection, TEST_CACHE_DIR, tempDir } from './helpers.js';
import { gql, usersSchema } from './sql-resolvers-app.js';

/** The tables of `name`'s database, read by a connection of the test's own. */
function tablesOf(dataDir: string, name: string): string[] {
  const db = new Database(databasePath(dataDir, name), { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('a migration stands only once its version is accepted', function () {
  this.timeout(120_000);

  // Serving: the counter fixture (a guest reading its table `counter`). New: the probe, whose
  // migration renames that table away and which is then refused, at each step after migrate.
  const refusals = [
    { step: 'sql-resolvers', sdl: 'extend type Query { x: Int @sql(query: "SELECT nope FROM gone") }', why: /Query\.x/ },
    { step: 'compose', sdl: 'extend type Query { users: Int }', why: /Query\.users" is already defined/ },
  ];
  for (const isolation of ['process', 'worker', 'inline'] as Isolation[]) {
    for (const { step, sdl, why } of refusals) {
      it(`${isolation}: a version refused at ${step} leaves no migration behind; the serving version keeps its table`, async () => {
        const ext = tempDir('forge-ext-');
        const data = tempDir();
        const put = (fixture: string) => {
          writeFileSync(join(ext.dir, 'probe.wasm.tmp'), readFileSync(fixturePath(fixture)));
          renameSync(join(ext.dir, 'probe.wasm.tmp'), join(ext.dir, 'probe.wasm'));
        };
        put('counter');
        const forge = forgeExtensions(ext.dir, {
          schema: usersSchema(),
          dataDir: data.dir,
          cacheDir: TEST_CACHE_DIR,
          logger: silentLogger,
          watch: true,
          isolation,
          extensions: { probe: { config: { sdl, migrate: 'ALTER TABLE counter RENAME TO gone' } } },
        });
        const app = express().use('/graphql', forge);
        try {
          await forge.host.ready();
          assert.deepEqual((await gql(app, '{ counter { n } }')).data, { counter: [{ n: 0 }] });
          const failed = new Promise<{ error: Error & { step?: string } }>((resolve) => forge.host.once('failed', resolve));
          put('probe');
          const { error } = await failed;
          assert.equal(error.step, step, error.message);
          assert.match(error.message, why);
          const { data: answer, errors } = await gql(app, '{ counter { n } }');
          assert.equal(errors, undefined, `the serving version lost its table to the refused version's migration: ${JSON.stringify(errors)}`);
          assert.deepEqual(answer, { counter: [{ n: 0 }] });
          assert.deepEqual(tablesOf(data.dir, 'probe'), ['counter'], 'the refused migration reached the file');
        } finally {
          await forge.host.close();
          ext.cleanup();
          data.cleanup();
        }
      });
    }
  }

  it("an accepted version's migration is committed: another connection sees it while the version serves and after the host closes", async () => {
    const ext = tempDir('forge-ext-');
    const data = tempDir();
    writeFileSync(join(ext.dir, 'probe.wasm'), readFileSync(fixturePath('probe')));
    const forge = forgeExtensions(ext.dir, {
      schema: usersSchema(),
      dataDir: data.dir,
      cacheDir: TEST_CACHE_DIR,
      logger: silentLogger,
      watch: false,
      extensions: { probe: { config: { migrate: 'CREATE TABLE IF NOT EXISTS kept (n INTEGER)' } } },
    });
    try {
      await forge.host.ready();
      assert.equal(forge.host.status()[0]!.state, 'ready', forge.host.status()[0]!.error);
      // Read by another connection while the version serves: committed, not merely visible to its own.
      assert.deepEqual(tablesOf(data.dir, 'probe'), ['kept']);
    } finally {
      await forge.host.close();
    }
    assert.deepEqual(tablesOf(data.dir, 'probe'), ['kept']);
    ext.cleanup();
    data.cleanup();
  });

  it('loadExtension with holdMigration: calls are refused until commitMigration; close() instead rolls the migration back', async () => {
    const data = tempDir();
    const options = { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, name: 'probe', holdMigration: true };
    const bytes = readFileSync(fixturePath('probe'));
    try {
      const held = await loadExtension(bytes, { ...options, config: { migrate: 'CREATE TABLE dropped (n INTEGER)' } });
      const refused = await rejection(held.resolveField({ typeName: 'Query', fieldName: 'dbPaths' }));
      assert.equal(refused['code'], 'EXTENSION_UNAVAILABLE', refused.message);
      assert.match(refused.message, /not committed/);
      await held.close();
      assert.deepEqual(tablesOf(data.dir, 'probe'), [], 'close() without commitMigration kept the migration');

      const accepted = await loadExtension(bytes, { ...options, config: { migrate: 'CREATE TABLE kept (n INTEGER)' } });
      await accepted.commitMigration();
      assert.deepEqual(tablesOf(data.dir, 'probe'), ['kept']);
      assert.ok(await accepted.resolveField({ typeName: 'Query', fieldName: 'dbPaths' }));
      await accepted.close();
    } finally {
      data.cleanup();
    }
  });

  it('a migration that ends the transaction itself (INSERT OR ROLLBACK, a trigger RAISE(ROLLBACK)) is refused whole; one that leaves a SAVEPOINT open commits whole', async () => {
    const data = tempDir();
    const options = { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, name: 'probe', holdMigration: true, isolation: 'inline' as const };
    const bytes = readFileSync(fixturePath('probe'));
    try {
      for (const migrate of [
        'CREATE TABLE a (x UNIQUE); INSERT INTO a VALUES (1); INSERT OR ROLLBACK INTO a VALUES (1); CREATE TABLE b (x)',
        "CREATE TABLE a (x); CREATE TRIGGER r AFTER INSERT ON a BEGIN SELECT RAISE(ROLLBACK, 'no'); END; INSERT INTO a VALUES (1); CREATE TABLE b (x)",
      ]) {
        const error = await rejection(loadExtension(bytes, { ...options, config: { migrate } }));
        assert.equal(error['step'], 'migrate', error.message);
        assert.deepEqual(tablesOf(data.dir, 'probe'), [], `half a migration stayed: ${migrate}`);
      }
      const held = await loadExtension(bytes, { ...options, config: { migrate: 'CREATE TABLE a (x); SAVEPOINT s; CREATE TABLE b (x)' } });
      await held.commitMigration();
      assert.deepEqual(tablesOf(data.dir, 'probe'), ['a', 'b']);
      assert.ok(await held.resolveField({ typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql: 'INSERT INTO b VALUES (1)', mode: 'execute' } }, { write: true }));
      await held.close();
    } finally {
      data.cleanup();
    }
  });
});
