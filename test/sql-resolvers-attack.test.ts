/**
 * SQL resolvers (`@sql`) attacked by a hostile extension author and a hostile client. Each
 * case is a real `probe` component serving the SDL and migration its config gives, a real
 * SQLite file and real HTTP; each asserts what the contract (docs/contract.md, "SQL
 * resolvers") promises, and that the host still answers afterwards. This file: what their
 * statements read and answer; sql-resolvers-attack-load.test.ts: what is refused at load.
 */
import assert from 'node:assert/strict';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { gql, serve, serveProbes } from './sql-resolvers-app.js';

describe('SQL resolvers under attack', () => {
  describe('across extensions', () => {
    it("never hands another extension the columns a SQL resolver's rows carry beyond its type's fields, nor keys from them", async () => {
      // alpha's rows carry a column its Note does not expose (as the contract's own example
      // carries author_id). beta adds a field of that name to alpha's type; gamma keys on it.
      const served = await serveProbes({
        alpha: {
          sdl: 'type Note { id: ID! text: String! } extend type Query { notes: [Note!]! @sql(query: "SELECT id, text, secret FROM notes") }',
          migrate: "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT, secret TEXT); INSERT INTO notes SELECT 1, 'hi', 'alpha-password' WHERE NOT EXISTS (SELECT 1 FROM notes);",
        },
        beta: {
          sdl: `type Echo { parent: String }
            extend type Alpha_Note {
              secret: String
              echo(text: String): Echo!
            }`,
          migrate: 'CREATE TABLE IF NOT EXISTS x (a)',
          answers: { 'Alpha_Note.secret': 'beta answer' },
        },
        gamma: {
          sdl: `extend type Alpha_Note { leak: [String] @sql(query: "SELECT value AS k, 'gamma saw ' || value AS v FROM json_each(:keys)", key: "k", parentKey: "secret") }`,
          migrate: 'CREATE TABLE IF NOT EXISTS x (a)',
        },
      });
      try {
        assert.deepEqual(served.host.status().map((s) => s.state), ['ready', 'ready', 'failed']);
        assert.match(served.state('gamma').error!, /leak @sql: parentKey "secret" is a field an extension adds to Alpha_Note/);
        const { data: answer, errors } = await gql(served.app, '{ notes { text secret echo { parent } } }');
        assert.equal(errors, undefined, JSON.stringify(errors));
        const note = answer!['notes'][0];
        assert.equal(note.secret, 'beta answer', 'what the client sees of the field beta added');
        assert.doesNotMatch(String(note.echo.parent), /alpha-password/, "beta's guest got alpha's hidden column in its parent");
        assert.deepEqual(JSON.parse(note.echo.parent), { id: 1, text: 'hi' });
      } finally {
        await served.close();
      }
    });
  });

  describe("the application's objects", () => {
    it('never hands an extension a property the application\'s type does not declare, even one named like a field it adds', async () => {
      const served = await serve({
        sdl: `type Echo { parent: String }
          extend type User {
            secret: String
            echo(text: String): Echo!
          }`,
        answers: { 'User.secret': 'ext answer' },
      });
      try {
        const { data, errors } = await gql(served.app, '{ user(id: "1") { secret echo { parent } } }');
        assert.equal(errors, undefined, JSON.stringify(errors));
        const user = data!['user'];
        assert.equal(user.secret, 'ext answer', 'what the client sees of the field the extension added');
        assert.doesNotMatch(String(user.echo.parent), /token-1/, "the guest got the application's hidden property in its parent");
        assert.deepEqual(JSON.parse(user.echo.parent), { id: '1', name: 'user 1' });
      } finally {
        await served.close();
      }
    });

    it('refuses, at composition, a key taken from a field an extension adds (its value is not a property of the application\'s objects)', async () => {
      const served = await serve({
        sdl: `extend type User {
            secret: String
            leak: [String] @sql(query: "SELECT value AS k, 'ext saw ' || value AS v FROM json_each(:keys)", key: "k", parentKey: "secret")
          }`,
      });
      try {
        const { state, error } = served.state();
        assert.equal(state, 'failed');
        assert.match(error!, /User\.leak @sql: parentKey "secret" is a field an extension adds to User, not one User's own objects hold/);
        assert.deepEqual((await gql(served.app, '{ user(id: "1") { name } }')).data, { user: { name: 'user 1' } });
      } finally {
        await served.close();
      }
    });
  });

  describe('key grouping', () => {
    it('gives parents that share a key the same answer from a json column (a JSON string is parsed once, not once per parent)', async () => {
      // Two parents with one key (the same user twice; in practice: many notes by one author).
      const served = await serve({
        sdl: `extend type User {
          label: String @sql(query: "SELECT value AS k, json_quote('hello') AS label FROM json_each(:keys)", key: "k", parentKey: "id", json: ["label"])
          quoted: String @sql(query: "SELECT value AS k, json_quote(json_quote('[1]')) AS q FROM json_each(:keys)", key: "k", parentKey: "id", json: ["q"])
        }`,
      });
      try {
        const { data, errors } = await gql(served.app, '{ a: user(id: "1") { label quoted } b: user(id: "1") { label quoted } }');
        assert.equal(errors, undefined, JSON.stringify(errors));
        assert.deepEqual(data, { a: { label: 'hello', quoted: '[1]' }, b: { label: 'hello', quoted: '[1]' } });
      } finally {
        await served.close();
      }
    });

    it('matches a key column named __proto__ like any other column (or refuses it at load)', async () => {
      const served = await serve({
        sdl: `type Note { id: ID! }
          extend type User { notes: [Note!]! @sql(query: "SELECT author_id AS __proto__, id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "__proto__", parentKey: "id") }`,
      });
      try {
        const { state, error } = served.state();
        if (state === 'failed') return assert.match(error!, /User\.notes @sql/);
        const { data, errors } = await gql(served.app, '{ user(id: "1") { notes { id } } }');
        assert.equal(errors, undefined, JSON.stringify(errors));
        assert.deepEqual(data, { user: { notes: [{ id: '1' }] } }, 'note 1 is by user 1: the key column must find it');
      } finally {
        await served.close();
      }
    });

    it('refuses at load a parentKey of its own type that is not a scalar field (as composition does for the application\'s types)', async () => {
      const served = await serve({
        sdl: `type Author { id: ID! friend: Author notes: [String] @sql(query: "SELECT value AS k, 'x' FROM json_each(:keys)", key: "k", parentKey: "friend") }
          extend type Query { n: Int @sql(query: "SELECT 1") }`,
      });
      try {
        const { state, error } = served.state();
        assert.equal(state, 'failed', 'an object field cannot be a key: every call would fail');
        assert.match(error!, /Author\.notes @sql: parentKey "friend"/);
      } finally {
        await served.close();
      }
    });

    it('serves or refuses a Boolean parentKey: it never passes composition and then fails every parent', async () => {
      const schema = makeExecutableSchema({
        typeDefs: 'type Thing { id: ID! flag: Boolean! } type Query { things: [Thing!]! }',
        resolvers: { Query: { things: () => [{ id: '1', flag: true }, { id: '2', flag: false }] } },
      });
      const served = await serve(
        { sdl: `extend type Thing { same: [ID!] @sql(query: "SELECT value AS k, value AS v FROM json_each(:keys)", key: "k", parentKey: "flag") }` },
        { schema },
      );
      try {
        const { state, error } = served.state();
        if (state === 'failed') return assert.match(error!, /Thing\.same @sql: parentKey "flag"/);
        const { errors } = await gql(served.app, '{ things { same } }');
        assert.equal(errors, undefined, `a key the checks accepted must be usable: ${JSON.stringify(errors)}`);
      } finally {
        await served.close();
      }
    });
  });

  describe('shapes', () => {
    it('refuses at load a statement with two columns of one name (a row object keeps only one of them)', async () => {
      const served = await serve({ sdl: `extend type Query { dup: String @sql(query: "SELECT 'first' AS x, 'second' AS x") }` });
      try {
        const { state, error } = served.state();
        assert.equal(state, 'failed');
        assert.match(error!, /Query\.dup @sql: column "x" appears twice/);
      } finally {
        await served.close();
      }
    });

    // Every isolation: the json column is parsed where the statement runs (the instance's process,
    // worker or the main thread), the answer is written by the host's HTTP layer.
    for (const isolation of ['inline', 'worker', 'process'] as const) {
      it(`fails a json column nested more than 1,000 levels (SQLite's JSON limit) with EXTENSION_BAD_RESPONSE naming the column, the same on every Node line (${isolation})`, async () => {
        // Node 26 writes 100,000 nested arrays with JSON.stringify (Node 20 and 24 overflow): a
        // limit by the engine's stack served them there, 100,001 JSON values, and the request's
        // answer budget (budgets.maxAnswerValues, 100,000) then refused the other field `n` too.
        const served = await serve(
          {
            sdl: `scalar Any
              extend type Query {
                deep(n: Int!): Any @sql(query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) SELECT (SELECT group_concat('[', '') FROM c) || (SELECT group_concat(']', '') FROM c) AS d", json: ["d"])
                n: Int @sql(query: "SELECT 1") }`,
          },
          { isolation },
        );
        try {
          const { data, errors } = await gql(served.app, '{ deep(n: 100000) n }');
          assert.equal(data!['n'], 1, 'the other field answers');
          assert.equal(errors?.length, 1, JSON.stringify(errors));
          assert.equal(errors![0]!.extensions?.code, 'EXTENSION_BAD_RESPONSE', errors![0]!.message);
          assert.match(errors![0]!.message, /column "d" is declared json but holds JSON nested more than 1000 levels deep/);
          // The limit is SQLite's own (json_valid: 1,000 levels are JSON, 1,001 are not): exactly.
          const edge = await gql(served.app, '{ atLimit: deep(n: 1000) beyond: deep(n: 1001) n }');
          assert.equal(JSON.stringify(edge.data!['atLimit']), `${'['.repeat(1000)}${']'.repeat(1000)}`);
          assert.equal(edge.data!['beyond'], null);
          assert.equal(edge.data!['n'], 1);
          assert.deepEqual(edge.errors?.map((e) => [e.path, e.extensions?.code]), [[['beyond'], 'EXTENSION_BAD_RESPONSE']]);
          assert.deepEqual((await gql(served.app, '{ n }')).data, { n: 1 }, 'the server answers afterwards');
        } finally {
          await served.close();
        }
      });
    }
  });

  describe('limits', () => {
    it('bounds the answers of one call: 64 fields each under maxResponseBytes do not crash the process (a client cannot make the extension crash)', async function () {
      this.timeout(120_000);
      // Each answer ~3.8 MB, under maxResponseBytes (4 MiB); 64 of them in one call are ~243 MB,
      // more than the process isolation's memory (224 MiB) can carry. A guest could never hold
      // them at once (memoryMb: 32); the host's SQL resolvers make them all before any check.
      const served = await serve(
        {
          sdl: `extend type Query {
            big(seed: Int!): String @sql(query: "SELECT :seed || hex(zeroblob(1900000))")
            n: Int @sql(query: "SELECT 1") }`,
        },
        { isolation: 'process', limits: { timeoutMs: 60_000, maxResponseBytes: 4 * 2 ** 20, memoryMb: 32, processMemoryMb: 224 } },
      );
      try {
        const query = `{ ${Array.from({ length: 64 }, (_, i) => `a${i}: big(seed: ${i})`).join(' ')} }`;
        const { errors } = await gql(served.app, query);
        const codes = new Set(errors?.map((e) => e.extensions?.code));
        for (const code of codes) assert.ok(code === 'EXTENSION_REQUEST_BUDGET' || code === 'EXTENSION_RESPONSE_TOO_LARGE', `fields failed with ${code}: ${errors![0]!.message}`);
        assert.equal(served.probe().stats.crashes, 0, 'a client request counted as a crash of the extension (5 open its circuit breaker)');
        const after = await gql(served.app, '{ n }');
        assert.deepEqual(after.data, { n: 1 });
      } finally {
        await served.close();
      }
    });
  });
});
