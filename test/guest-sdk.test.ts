/**
 * The guest SDK (`forge-extensions/guest`) inside real components: migrations applied once
 * across restarts and upgrades (and an edited one refused), batch resolvers, typed errors,
 * nested transactions; `sql()` (property: any text survives the SDL); and its contract types
 * generated from the WIT.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Kind, parse, type ObjectTypeDefinitionNode } from 'graphql';
import request from 'supertest';
import { generateGuestTypes } from '../lib/cli/guest-types.js';
import { sql, SqlDirectiveError } from '../lib/guest/sql.js';
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

describe('sql()', () => {
  /** The `@sql` arguments of the one field of `type T { f: Int <directive> }`, as graphql-js parses them. */
  const parsedArguments = (directive: string) => {
    const type = parse(`type T {\n  f: Int ${directive}\n}`).definitions[0] as ObjectTypeDefinitionNode;
    const [found] = type.fields![0]!.directives!;
    assert.equal(found!.name.value, 'sql');
    return Object.fromEntries(
      found!.arguments!.map((a) => [a.name.value, a.value.kind === Kind.STRING ? a.value.value : a.value.kind === Kind.LIST ? a.value.values.map((v) => (v.kind === Kind.STRING ? v.value : v.kind)) : a.value.kind]),
    );
  };
  // Any Unicode text, salted with what breaks naive escaping: quotes, block-string quotes,
  // backslashes and escape look-alikes, line terminators, control characters.
  const text = fc
    .array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('"', '"""', '\\', '\\n', '\\u0041', '\\"""', '\n', '\r\n', '\r', '\t', '\u0000', '\u2028', '\u{1F600}', "'", '${x}', ')', '@sql(')))
    .map((parts) => parts.join(''));

  it('any query text (and key, parentKey, json) comes back unchanged from graphql.parse', () => {
    fc.assert(
      fc.property(text, fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }), (query, key, parentKey, json) => {
        const expected: Record<string, unknown> = { query };
        if (key !== undefined) expected['key'] = key;
        if (parentKey !== undefined) expected['parentKey'] = parentKey;
        if (json !== undefined) expected['json'] = json;
        assert.deepEqual(parsedArguments(sql(query, { key, parentKey, json })), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the directive an SDL author would', () => {
    assert.equal(sql('SELECT 1'), '@sql(query: "SELECT 1")');
    assert.equal(
      sql(`SELECT body, issue_id FROM comments WHERE issue_id IN (SELECT value FROM json_each(:keys)) AND body <> 'say "hi" \\o/'`, { key: 'issue_id', parentKey: 'id', json: ['tags'] }),
      String.raw`@sql(query: "SELECT body, issue_id FROM comments WHERE issue_id IN (SELECT value FROM json_each(:keys)) AND body <> 'say \"hi\" \\o/'", key: "issue_id", parentKey: "id", json: ["tags"])`,
    );
    assert.equal(sql('a\nb'), String.raw`@sql(query: "a\u000ab")`);
  });

  it('refuses text that is not Unicode (an unpaired surrogate), naming where', () => {
    assert.throws(() => sql('SELECT \ud800 x'), (e: unknown) => e instanceof SqlDirectiveError && /unpaired surrogate \(\\ud800\) at index 7/.test(e.message));
    assert.throws(() => sql('SELECT 1', { key: 'a\udc00' }), SqlDirectiveError);
  });
});
