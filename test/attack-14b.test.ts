/**
 * Issue 14 (SQL resolvers the host runs), attacked a second time after the changes of
 * 0c69834..689c969: calls of 64 units / 256 fields, requests as JSON text, answer values counted
 * by the instance, the 1,000-level JSON limit. Each case is what a hostile client or extension
 * author could do; each asserts what the docs promise (docs/contract.md, "SQL resolvers" and
 * "Values at the boundary").
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { ExtensionDatabase } from '../lib/data/database.js';
import { MAX_CALL_FIELDS } from '../lib/runtime/call-queue.js';
import { RequestBudget } from '../lib/runtime/request-budget.js';
import { sqlFieldsOf } from '../lib/runtime/sql-fields.js';
import { SqlResolvers } from '../lib/runtime/sql-resolvers.js';
import type { WireRequest, WireResult } from '../lib/runtime/wire.js';
import { tempDir } from './helpers.js';
import { gql, serve } from './sql-resolvers-app.js';

describe('issue 14, attacked again (calls of 256 fields, text requests, JSON depth)', () => {
  describe('a keyed SQL resolver whose parents share a key', () => {
    it('makes their answer once: the answers of a call take no more than its rows may (2 x maxResponseBytes), however many parents share the key', () => {
      // `notes(first: 256) { author { notes { text } } }`: 256 parents (one per note) with the
      // same author, so one key. The statement's rows are bounded by the call's bytes, but each
      // parent got its own JSON of the same rows: 256 copies, built before any budget is
      // applied (withinAnswerBudgets runs on the finished results). With maxResponseBytes 8 MiB
      // that is up to 2 GiB in the instance: the main thread's memory inline.
      const { dir, cleanup } = tempDir();
      const db = new ExtensionDatabase(dir, 'keyed');
      try {
        db.write(() => {
          db.executeBatch('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author_id INTEGER)');
          for (let i = 0; i < 100; i++) db.execute('INSERT INTO notes (text, author_id) VALUES (?, 1)', Buffer.from(JSON.stringify(['x'.repeat(200)])));
        });
        const sql = new SqlResolvers(
          sqlFieldsOf(`type Note { id: ID! text: String! }
            extend type User { notes: [Note!]! @sql(query: "SELECT id, text, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys)) ORDER BY id", key: "author_id", parentKey: "id") }`),
        );
        const native = <T>(fn: () => T): T => fn();
        sql.check(db, native);
        const requests: WireRequest[] = Array.from({ length: MAX_CALL_FIELDS }, () => ({ typeName: 'User', fieldName: 'notes', arguments: '{}', parent: '{"id":"1"}', context: '{}' }));
        const results: WireResult[] = new Array(requests.length);
        // As for limits.maxResponseBytes = 32 KiB: each answer (~23 KB) fits it.
        const maxCallBytes = 2 * 32 * 1024;
        db.read(() => sql.resolve(db, native, requests, requests.map((_, i) => i), results, maxCallBytes));
        for (const r of results) assert.ok('ok' in r, JSON.stringify(r));
        const answer = JSON.parse((results[MAX_CALL_FIELDS - 1] as { ok: string }).ok) as unknown[];
        assert.equal(answer.length, 100, 'every parent still gets all of its rows');
        // One answer made for the key, shared by its 256 parents: the call holds its rows' JSON once.
        assert.equal(new Set(results).size, 1, `${new Set(results).size} answers made for one key`);
        assert.ok(Buffer.byteLength((results[0] as { ok: string }).ok) <= maxCallBytes);
      } finally {
        db.close();
        cleanup();
      }
    });
  });

  describe('a keyed SQL resolver whose parents share a key, served', () => {
    it('does not crash the extension process: 64 aliases of a keyed field on one parent are one answer, not 64 copies', async function () {
      this.timeout(120_000);
      // As sql-resolvers-attack.test.ts's 'bounds the answers of one call', through a key: the
      // rows (~4 MB) are read once, within the call's bytes, then written once per alias.
      const served = await serve(
        {
          sdl: `type Note { id: ID! text: String! }
            extend type User { notes: [Note!] @sql(query: "SELECT id, text, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "id") }
            extend type Query { n: Int @sql(query: "SELECT 1") }`,
          migrate: 'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author_id INTEGER); INSERT INTO notes (text, author_id) SELECT hex(zeroblob(2000000)), 1 WHERE NOT EXISTS (SELECT 1 FROM notes);',
        },
        { isolation: 'process', limits: { timeoutMs: 60_000, maxResponseBytes: 4 * 2 ** 20, memoryMb: 32, processMemoryMb: 224 }, budgets: { maxAnswerBytes: 16 * 2 ** 20 } },
      );
      try {
        const query = `{ user(id: "1") { ${Array.from({ length: 64 }, (_, i) => `a${i}: notes { id }`).join(' ')} } }`;
        const { data, errors } = await gql(served.app, query);
        const codes = new Set(errors?.map((e) => e.extensions?.code));
        for (const code of codes) assert.equal(code, 'EXTENSION_REQUEST_BUDGET', `fields failed with ${code}: ${errors![0]!.message}`);
        assert.deepEqual(data?.['user']?.['a0'], [{ id: '1' }], 'the first alias is within the budget');
        assert.equal(served.probe().stats.crashes, 0, 'a client request counted as a crash of the extension (5 open its circuit breaker)');
        assert.deepEqual((await gql(served.app, '{ n }')).data, { n: 1 });
      } finally {
        await served.close();
      }
    });
  });

  describe("a keyed SQL resolver under parents with long fields", () => {
    it("sends it only the parent's key: a parent's long text neither fails the field (maxRequestBytes) nor splits its parents over calls", async () => {
      // The statement reads the parents' keys alone (docs/contract.md: "of a parent, only its
      // key"; routing.ts keyOnly). Sent whole, note 1 (1.2 MB of text) would fail with
      // EXTENSION_REQUEST_TOO_LARGE and notes 2 and 3 (600 KB each) would go in a call each (1 MiB
      // of requests a call). A guard: this held before the attack.
      const served = await serve(
        {
          sdl: `type Note { id: ID! text: String! tags: [String!] @sql(query: "SELECT note_id, tag FROM tags WHERE note_id IN (SELECT value FROM json_each(:keys)) ORDER BY tag", key: "note_id", parentKey: "id") }
            extend type Query { notes: [Note!]! @sql(query: "SELECT id, text FROM notes ORDER BY id") }`,
          migrate: `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tags (note_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (note_id, tag));
            INSERT OR IGNORE INTO notes (id, text) VALUES (1, hex(zeroblob(600000))), (2, hex(zeroblob(300000))), (3, hex(zeroblob(300000)));
            INSERT OR IGNORE INTO tags VALUES (1, 'one'), (2, 'two'), (3, 'three');`,
        },
        { budgets: { maxAnswerBytes: 16 * 2 ** 20 } },
      );
      try {
        const before = served.probe().stats.calls;
        assert.deepEqual(await gql(served.app, '{ notes { id tags } }'), {
          data: { notes: [{ id: '1', tags: ['one'] }, { id: '2', tags: ['two'] }, { id: '3', tags: ['three'] }] },
        });
        assert.equal(served.probe().stats.calls - before, 2, 'one call for the notes, one for every note\'s tags');
      } finally {
        await served.close();
      }
    });
  });

  describe('requests sharing a call', () => {
    // The rows of a call's statements share one cap (2 x maxResponseBytes), spent in the order
    // of the call's fields: a request whose statement read most of it made the statements of the
    // requests batched with it fail (EXTENSION_RESPONSE_TOO_LARGE), though each alone is far under
    // it: the heavy client failed the light one, against docs/host.md ("each request is judged by
    // its own call"). A call out of time or memory already re-ran each request alone; this cap did not.
    it("does not fail a light request's SQL field because a heavy request's statement in the same call read most of the call's bytes", async () => {
      const served = await serve(
        { sdl: 'extend type Query { rows(n: Int!): [String!]! @sql(query: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < :n) SELECT hex(zeroblob(500)) FROM c") }' },
        { limits: { maxResponseBytes: 64 * 1024 } },
      );
      try {
        const budget = () => new RequestBudget('probe', { maxResolvedFields: 100, maxAnswerBytes: 2 ** 30, maxAnswerValues: 2 ** 30 });
        // Same tick: one call. The heavy request's rows (~120 KB of the call's 128 KiB) are its
        // own problem (its answer is above maxResponseBytes); the light one's ~20 KB are not.
        const [heavy, light] = await Promise.allSettled([
          served.probe().resolveField({ typeName: 'Query', fieldName: 'rows', arguments: { n: 120 }, budget: budget() }),
          served.probe().resolveField({ typeName: 'Query', fieldName: 'rows', arguments: { n: 20 }, budget: budget() }),
        ]);
        assert.equal(heavy.status, 'rejected');
        assert.match(String((heavy as PromiseRejectedResult).reason), /the answer is \d+ bytes, above the limit of 65536/, 'the heavy request fails of its own size');
        assert.equal(light.status, 'fulfilled', String((light as PromiseRejectedResult).reason));
        assert.equal((light as PromiseFulfilledResult<unknown[]>).value.length, 20);
        assert.equal(served.probe().stats.calls, 2, 'the shared call, then the light request alone');
        // One request's own statements still share one call's bytes: nothing to run again.
        const one = budget();
        const [, second] = await Promise.allSettled([
          served.probe().resolveField({ typeName: 'Query', fieldName: 'rows', arguments: { n: 120 }, budget: one }),
          served.probe().resolveField({ typeName: 'Query', fieldName: 'rows', arguments: { n: 20 }, budget: one }),
        ]);
        assert.match(String((second as PromiseRejectedResult).reason), /this call's answers may take at most 131072 bytes/);
        assert.equal(served.probe().stats.calls, 3);
      } finally {
        await served.close();
      }
    });
  });

  describe("a SQL resolver's arguments", () => {
    it('binds NULL for an omitted argument named like a property of every object (constructor, toString)', async () => {
      // `name in params` saw Object.prototype's: the omitted argument was never bound NULL.
      const served = await serve({
        sdl: `extend type Query {
          pick(constructor: String, toString: Int): String @sql(query: "SELECT coalesce(:constructor, 'none') || '/' || coalesce(:toString, 0)")
        }`,
      });
      try {
        assert.deepEqual(await gql(served.app, '{ omitted: pick given: pick(constructor: "c", toString: 7) }'), { data: { omitted: 'none/0', given: 'c/7' } });
      } finally {
        await served.close();
      }
    });
  });

  describe("the application's context grant", () => {
    it('refuses a granted value nested more than 1,000 levels (EXTENSION_CONTEXT), as arguments and parents are, whatever the Node line', async () => {
      // The grant was checked with JSON.stringify alone: 2,000 levels went to the extension on
      // Node 20 (100,000 on Node 26), where an argument or a parent nested so is refused.
      const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      const values: Record<string, unknown> = { '1000': nested(1000), '2000': nested(2000) };
      const served = await serve(
        {},
        {
          context: (req) => ({ deep: values[String(req.headers['x-depth'])] }),
          extensions: { probe: { config: { migrate: 'CREATE TABLE IF NOT EXISTS x (a)' }, context: ['deep'] } },
        },
      );
      try {
        const ask = async (depth: string) => (await request(served.app).post('/graphql').set('x-depth', depth).send({ query: '{ echo(text: "hi") { context } }' }).expect(200)).body;
        const within = await ask('1000');
        assert.deepEqual(JSON.parse(within.data.echo.context), { deep: values['1000'] });
        const beyond = await ask('2000');
        assert.equal(beyond.data, null);
        assert.deepEqual(beyond.errors.map((e: { extensions: unknown }) => e.extensions), [{ code: 'EXTENSION_CONTEXT', extension: 'probe' }]);
        assert.equal(served.state().state, 'ready');
      } finally {
        await served.close();
      }
    });
  });

  describe("a client's string with an unpaired surrogate", () => {
    const SDL = `type Note { id: ID! text: String! } type Echo { arguments: String! }
      extend type Query { texts: [String!]! @sql(query: "SELECT text FROM notes ORDER BY id") echo(text: String): Echo }
      extend type Mutation { addNote(text: String!): Note @sql(query: "INSERT INTO notes (text) VALUES (:text) RETURNING id, text") }`;
    const post = async (app: Parameters<typeof request>[0], query: string, variables: Record<string, unknown>) =>
      (await request(app).post('/graphql').send({ query, variables }).expect(200)).body as { data?: Record<string, any>; errors?: Array<{ message: string; extensions?: { code?: string } }> }; // eslint-disable-line @typescript-eslint/no-explicit-any

    it('is refused at its field, naming it, and nothing is written: UTF-8 (the wire, SQLite) would store U+FFFD in its place', async () => {
      // JSON (a variable) can carry "\ud800"; GraphQL's own parser refuses it in a literal
      // ("Invalid Unicode escape sequence"). It crossed to the extension as UTF-8, where it
      // silently became replacement characters: the mutation stored and answered "a\ufffd\ufffd\ufffdb".
      const served = await serve({ sdl: SDL });
      try {
        const write = await post(served.app, 'mutation($t: String!) { addNote(text: $t) { text } }', { t: 'a\ud800b' });
        assert.equal(write.data?.['addNote'], null, JSON.stringify(write));
        assert.match(write.errors?.[0]?.message ?? '', /Mutation\.addNote: the arguments cannot be sent to the extension: an argument's value holds an unpaired UTF-16 surrogate \(\\ud800\)/);
        assert.equal(write.errors?.[0]?.extensions?.code, 'EXTENSION_BAD_REQUEST');
        const echo = await post(served.app, 'query($t: String) { echo(text: $t) { arguments } }', { t: '\udc00' });
        assert.equal(echo.data?.['echo'], null, JSON.stringify(echo));
        assert.match(echo.errors?.[0]?.message ?? '', /Query\.echo: .*unpaired UTF-16 surrogate \(\\udc00\)/);
        assert.deepEqual((await gql(served.app, '{ texts }')).data, { texts: ['a'] }, 'nothing was written');
        // Text that is Unicode crosses unchanged: a surrogate pair, and the six characters \ud800.
        const fine = await post(served.app, 'mutation($a: String!, $b: String!) { a: addNote(text: $a) { text } b: addNote(text: $b) { text } }', { a: '\ud83d\ude00', b: '\\ud800' });
        assert.deepEqual(fine, { data: { a: { text: '\ud83d\ude00' }, b: { text: '\\ud800' } } });
        assert.deepEqual((await gql(served.app, '{ texts }')).data, { texts: ['a', '\ud83d\ude00', '\\ud800'] });
      } finally {
        await served.close();
      }
    });
  });
});
