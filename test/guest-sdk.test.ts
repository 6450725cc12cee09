/**
 * The guest SDK (`forge-extensions/guest`) inside real components: migrations applied once
 * across restarts and upgrades (and an edited one refused), batch resolvers, typed errors,
 * nested transactions; and its contract types generated from the WIT.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { generateGuestTypes } from '../lib/cli/guest-types.js';
import { ExtensionLoadError } from '../lib/runtime/errors.js';
import type { Extension } from '../lib/runtime/extension.js';
import { loadExtension } from '../lib/runtime/load.js';
import { recordingLogger, rejection, tempDir, TEST_CACHE_DIR, fixturePath, extensionsDir } from './helpers.js';
import { createApp, defaultOptions } from './apps.js';

describe('guest SDK', () => {
  let data: { dir: string; cleanup: () => void };
  const open: Extension[] = [];
  const load = async (fixture: string, logger = recordingLogger()) => {
    const ext = await loadExtension(fixturePath(fixture), { name: 'sdk', dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger, isolation: 'inline' });
    open.push(ext);
    return ext;
  };
  const ask = (ext: Extension, fieldName: string, write = false, args = {}) =>
    ext.resolveField({ typeName: write ? 'Mutation' : 'Query', fieldName, arguments: args }, { write });
  beforeEach(() => (data = tempDir()));
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    data.cleanup();
  });

  it('applies each migration once, across restarts and an upgrade that appends one', async () => {
    const logger = recordingLogger();
    let ext = await load('sdk-v1', logger);
    assert.ok(logger.lines.some((l) => l.msg === 'applied 1 migration'));
    await ask(ext, 'addItem', true, { name: 'first' });
    await ext.close();

    logger.lines.length = 0;
    ext = await load('sdk-v1', logger);
    assert.ok(!logger.lines.some((l) => /applied/.test(l.msg)), 'a restart applies nothing');
    assert.deepEqual(await ask(ext, 'migrations'), [1]);
    await ext.close();

    ext = await load('sdk-v2', logger);
    assert.ok(logger.lines.some((l) => l.msg === 'applied 1 migration'), 'only the new migration runs');
    assert.deepEqual(await ask(ext, 'migrations'), [1, 2]);
    assert.deepEqual(await ask(ext, 'items'), [{ id: 1, name: 'first' }], 'data from v1 is kept');
  });

  it('refuses a version whose applied migration was edited, and one older than the database', async () => {
    await (await load('sdk-v1')).close();
    const edited = await rejection(load('sdk-edited'));
    assert.ok(edited instanceof ExtensionLoadError);
    assert.equal(edited.message, 'extension "sdk" failed at migrate: migration 1 was changed after it was applied; add a new migration instead of editing an old one');
    await (await load('sdk-v2')).close();
    const older = await rejection(load('sdk-v1'));
    assert.equal(older.message, 'extension "sdk" failed at migrate: the database is at migration 2, but this version has only 1: it was written by a newer version');
  });

  it('turns thrown errors of every kind into the field error, and refuses async resolvers', async () => {
    const ext = await load('sdk-v1');
    for (const [field, message] of [
      ['typedError', 'a typed error'],
      ['plainError', 'a plain error'],
      ['thrownString', 'a thrown string'],
      ['asyncResolver', 'resolvers must be synchronous: the extension contract has no async calls'],
      ['noSuchField', 'no resolver for Query.noSuchField'],
    ]) {
      const e = await rejection(ask(ext, field!));
      assert.equal(e.code, 'EXTENSION_ERROR', field);
      assert.equal(e.message, message);
    }
    assert.equal(ext.stats.crashes, 0, 'no error trapped the instance');
  });

  it('undoes a failed nested transaction and keeps the rest of the field', async () => {
    const ext = await load('sdk-v1');
    assert.deepEqual(await ask(ext, 'savepoint', true), ['kept']);
  });

  it('answers a batch resolver once for all parents, failing only the bad one', async () => {
    const ext = extensionsDir({ 'sdk.wasm': 'sdk-v1' });
    const logger = recordingLogger();
    const app = createApp('express', ext.dir, { ...defaultOptions(data.dir), logger });
    try {
      await app.host.ready();
      for (const name of ['one', 'three', 'bad']) {
        await request(app.handler).post('/graphql').send({ query: `mutation { addItem(name: "${name}") { id } }` }).expect(200);
      }
      const res = await request(app.handler).post('/graphql').send({ query: '{ items { name length } }' }).expect(200);
      assert.deepEqual(res.body.data, { items: [{ name: 'one', length: 3 }, { name: 'three', length: 5 }, { name: 'bad', length: null }] });
      assert.deepEqual(res.body.errors.map((e: { message: string; path: unknown[] }) => [e.message, e.path]), [['bad item', ['items', 2, 'length']]]);
      assert.deepEqual(logger.lines.filter((l) => /batch of/.test(l.msg)).map((l) => l.msg), ['Item.length batch of 3']);
    } finally {
      await app.close();
      ext.cleanup();
    }
  });
});

describe('contract types', () => {
  it('are generated from wit/extension.wit and committed in lib/guest/wit-types', async () => {
    const generated = await generateGuestTypes();
    assert.ok(Object.keys(generated).length >= 4);
    for (const [file, text] of Object.entries(generated)) {
      assert.equal(readFileSync(join('lib', 'guest', 'wit-types', file), 'utf8'), text, `${file} is stale: run \`node dist/lib/cli/main.js types lib/guest/wit-types\``);
    }
  });
});
