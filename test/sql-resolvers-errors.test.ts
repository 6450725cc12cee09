/**
 * SQL resolvers that cannot work are refused at load, naming the extension, `Type.field` and
 * the reason (SQLite's own message where it has one); the host and the other extensions keep
 * serving. At run time a statement fails only its field, under the call's deadline and limits.
 */
import assert from 'node:assert/strict';
import { makeExecutableSchema } from '@graphql-tools/schema';
import request from 'supertest';
import { ExtensionLoadError } from '../lib/runtime/errors.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { loadExtension } from '../lib/runtime/load.js';
import { fixturePath, rejection, TEST_CACHE_DIR, tempDir } from './helpers.js';
import { probe } from './probe.js';
import { serve } from './sql-resolvers-app.js';

const MIGRATION = `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '[]', author_id INTEGER);
  INSERT INTO notes (text, tags, author_id) SELECT 'a', 'not json', 1 WHERE NOT EXISTS (SELECT 1 FROM notes);`;
const NOTE = 'type Note { id: ID! text: String! tags: [String!] }';

/** SDL (with the Note type) -> the refusal's expected message. */
const REFUSED: Array<[string, string, RegExp]> = [
  ['a column that does not exist', 'extend type Query { notes: [Note!]! @sql(query: "SELECT id, titel AS text FROM notes") }', /Query\.notes @sql: the statement does not prepare: no such column: titel/],
  ['a table that does not exist', 'extend type Query { n: Int @sql(query: "SELECT count(*) FROM note") }', /Query\.n @sql: the statement does not prepare: no such table: note/],
  ['a parameter that is not an argument', 'extend type Query { notes(tag: String): [Note!]! @sql(query: "SELECT id, text FROM notes WHERE text = :tags") }', /Query\.notes @sql: :tags is not an argument of Query\.notes \(its arguments: tag\)/],
  ['an anonymous parameter', 'extend type Query { note(id: ID!): Note @sql(query: "SELECT id, text FROM notes WHERE id = ?") }', /Query\.note @sql: parameters are named \(:name\), not \?/],
  [':keys without a key', 'extend type Query { notes: [Note!]! @sql(query: "SELECT id, text FROM notes WHERE id IN (SELECT value FROM json_each(:keys))") }', /:keys is the parents' keys: declare key and parentKey/],
  ['a key without :keys', 'type Author { id: ID! notes: [Note!]! @sql(query: "SELECT id, text, author_id FROM notes", key: "author_id", parentKey: "id") } extend type Query { a: Author }', /Author\.notes @sql: a keyed field must select its rows with :keys/],
  ['a key column the statement lacks', 'type Author { id: ID! notes: [Note!]! @sql(query: "SELECT id, text FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "id") } extend type Query { a: Author }', /key column "author_id" is not among the columns \(id, text\)/],
  ['a parentKey its own type lacks', 'type Author { id: ID! notes: [Note!]! @sql(query: "SELECT id, text, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "uid") } extend type Query { a: Author }', /parentKey "uid" is not a field of Author/],
  ['a non-null field no column provides', 'extend type Query { notes: [Note!]! @sql(query: "SELECT id FROM notes") }', /no column for the non-null field Note\.text \(the columns: id\)/],
  ['a json column the statement lacks', 'extend type Query { notes: [Note!]! @sql(query: "SELECT id, text FROM notes", json: ["tags"]) }', /json column tags not among the columns/],
  ['a Query field that writes', 'extend type Query { wipe: Int @sql(query: "DELETE FROM notes") }', /only Mutation fields may write; Query\.wipe runs read-only/],
  ['rows wanted from a statement that returns none', 'extend type Mutation { add(text: String!): Note @sql(query: "INSERT INTO notes (text) VALUES (:text)") }', /returns no rows \(add RETURNING\)/],
  ['two statements', 'extend type Query { n: Int @sql(query: "SELECT 1; SELECT 2") }', /Query\.n @sql: the statement does not prepare/],
  ['transaction control', 'extend type Mutation { n: Int @sql(query: "COMMIT") }', /Mutation\.n @sql: the statement does not prepare: .*(transaction|COMMIT)/i],
  ['what the SQL sandbox refuses', 'extend type Query { n: Int @sql(query: "SELECT load_extension(\'x\')") }', /Query\.n @sql: the statement does not prepare: .*load_extension/],
  ['a key on a root field', 'extend type Query { n: Int @sql(query: "SELECT 1", key: "a", parentKey: "b") }', /Query\.n @sql: a root field has no parent/],
  ['an unknown directive argument', 'extend type Query { n: Int @sql(query: "SELECT 1", sql: "x") }', /unknown argument "sql"/],
  ['a missing query', 'extend type Query { n: Int @sql(key: "a") }', /Query\.n @sql: query is required/],
  ['an interface result', 'interface Thing { id: ID! } extend type Query { things: [Thing!]! @sql(query: "SELECT 1 AS id") }', /Thing is an interface or union/],
  ['an application type as result', 'extend type Query { user: User @sql(query: "SELECT 1 AS id") }', /User is not an object type, enum or scalar this SDL defines/],
  ['a list of lists', 'extend type Query { grid: [[Int]] @sql(query: "SELECT 1") }', /a list of lists/],
  ['a keyed scalar with the key column alone', 'type Author { id: ID! n: Int @sql(query: "SELECT author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "id") } extend type Query { a: Author }', /no column besides the key column "author_id"/],
];

describe('SQL resolvers: refused at load', () => {
  let data: { dir: string; cleanup: () => void };
  beforeEach(() => (data = tempDir()));
  afterEach(() => data.cleanup());

  for (const [what, sdl, message] of REFUSED) {
    it(`refuses ${what}`, async () => {
      const e = await rejection(probe(data.dir, { config: { sdl: `${NOTE} ${sdl}`, migrate: MIGRATION } }));
      assert.ok(e instanceof ExtensionLoadError, String(e));
      assert.equal(e.step, 'sql-resolvers');
      assert.match(e.message, /^extension "probe" failed at sql-resolvers: /);
      assert.match(e.message, message);
    });
  }

  it('refuses, at composition, a parentKey the application\'s type lacks; the host and other extensions keep serving', async () => {
    const schema = makeExecutableSchema({ typeDefs: 'type User { id: ID! tags: [String!] } type Query { me: User }', resolvers: { Query: { me: () => ({ id: '1' }) } } });
    const served = await serve(
      {
        sdl: `${NOTE} extend type User { notes: [Note!]! @sql(query: "SELECT id, text, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "uid") }`,
        migrate: MIGRATION,
      },
      { schema, beside: { 'counter.wasm': 'counter' } },
    );
    try {
      const status = served.state();
      assert.equal(status.state, 'failed');
      assert.match(status.error!, /User\.notes @sql: parentKey "uid" is not a field of User \(SDL line 1, column \d+\)/);
      const res = await request(served.app).post('/graphql').send({ query: '{ me { id } }' }).expect(200);
      assert.deepEqual(res.body.data, { me: { id: '1' } });
      assert.equal(served.state('counter').state, 'ready');
    } finally {
      await served.close();
    }
  });
});

describe('SQL resolvers: failures at run time', () => {
  let data: { dir: string; cleanup: () => void };
  beforeEach(() => (data = tempDir()));
  afterEach(() => data.cleanup());

  it('a runaway statement gets the deadline (process isolation): the field times out, the next call answers', async () => {
    const sdl = `${NOTE} extend type Query {
      forever: Int @sql(query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
      count: Int @sql(query: "SELECT count(*) FROM notes") }`;
    const ext = await probe(data.dir, { isolation: 'process', config: { sdl, migrate: MIGRATION } });
    try {
      const e = await rejection(ext.resolveField({ typeName: 'Query', fieldName: 'forever' }));
      assert.equal(e['code'], 'EXTENSION_TIMEOUT');
      assert.equal(await ext.resolveField({ typeName: 'Query', fieldName: 'count' }), 1);
    } finally {
      await ext.close();
    }
  });

  it('an answer over limits.maxResponseBytes fails that field with its code; others in the call answer', async () => {
    const sdl = `${NOTE} extend type Query {
      huge: String @sql(query: "SELECT hex(zeroblob(60000))")
      count: Int @sql(query: "SELECT count(*) FROM notes") }`;
    const ext = await loadExtension(fixturePath('probe'), {
      dataDir: data.dir,
      cacheDir: TEST_CACHE_DIR,
      logger: silentLogger,
      isolation: 'worker',
      limits: { maxResponseBytes: 100_000 },
      config: { sdl, migrate: MIGRATION },
    });
    try {
      const [huge, count] = await ext.resolveBatch([
        { typeName: 'Query', fieldName: 'huge' },
        { typeName: 'Query', fieldName: 'count' },
      ]);
      assert.equal(huge!.status, 'rejected');
      const reason = (huge as PromiseRejectedResult).reason as { code: string; message: string };
      assert.equal(reason.code, 'EXTENSION_RESPONSE_TOO_LARGE');
      assert.match(reason.message, /above the limit of 100000 \(limits\.maxResponseBytes\)/);
      assert.deepEqual(count, { status: 'fulfilled', value: 1 });
    } finally {
      await ext.close();
    }
  });

  it('a json column holding text that is not JSON fails that field (EXTENSION_BAD_RESPONSE), not the call', async () => {
    const sdl = `${NOTE} extend type Query {
      notes: [Note!]! @sql(query: "SELECT id, text, tags FROM notes", json: ["tags"])
      count: Int @sql(query: "SELECT count(*) FROM notes") }`;
    const ext = await probe(data.dir, { config: { sdl, migrate: MIGRATION } });
    try {
      const [notes, count] = await ext.resolveBatch([
        { typeName: 'Query', fieldName: 'notes' },
        { typeName: 'Query', fieldName: 'count' },
      ]);
      assert.equal(notes!.status, 'rejected');
      const reason = (notes as PromiseRejectedResult).reason as { code: string; message: string };
      assert.equal(reason.code, 'EXTENSION_BAD_RESPONSE');
      assert.match(reason.message, /column "tags" is declared json but holds text that is not JSON/);
      assert.deepEqual(count, { status: 'fulfilled', value: 1 });
    } finally {
      await ext.close();
    }
  });
});
