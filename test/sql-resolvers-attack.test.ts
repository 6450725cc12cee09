/**
 * SQL resolvers (`@sql`) attacked by a hostile extension author and a hostile client. Each
 * case is a real `probe` component serving the SDL and migration its config gives, a real
 * SQLite file and real HTTP; each asserts what the contract (docs/contract.md, "SQL
 * resolvers") promises, and that the host still answers afterwards.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import request from 'supertest';
import { forgeExtensions, type ForgeOptions } from '../lib/index.js';
import type { Extension } from '../lib/runtime/extension.js';
import { silentLogger } from '../lib/runtime/logger.js';
import type { Isolation } from '../lib/runtime/wire.js';
import { extensionsDir, fixturePath, TEST_CACHE_DIR, tempDir } from './helpers.js';

/** Users with a property the application's GraphQL type does not declare (a session token). */
const users = Array.from({ length: 4 }, (_, i) => ({ id: String(i + 1), name: `user ${i + 1}`, secret: `token-${i + 1}` }));
const usersSchema = () =>
  makeExecutableSchema({
    typeDefs: 'type User { id: ID! name: String! } type Query { users: [User!]! user(id: ID!): User }',
    resolvers: { Query: { users: () => users, user: (_: unknown, { id }: { id: string }) => users.find((u) => u.id === id) ?? null } },
  });

const MIGRATION = `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author_id INTEGER);
  INSERT INTO notes (text, author_id) SELECT 'a', 1 WHERE NOT EXISTS (SELECT 1 FROM notes);`;

interface Served {
  app: express.Express;
  probe: () => Extension;
  state: () => { state: string; error?: string | undefined };
  close: () => Promise<void>;
}

interface GqlBody {
  data?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string } }>;
}

async function serve(config: Record<string, unknown>, options: Partial<ForgeOptions> & { isolation?: Isolation } = {}): Promise<Served> {
  const ext = extensionsDir({ 'probe.wasm': 'probe' });
  const data = tempDir();
  const forge = forgeExtensions(ext.dir, {
    schema: usersSchema(),
    dataDir: data.dir,
    cacheDir: TEST_CACHE_DIR,
    logger: silentLogger,
    watch: false,
    isolation: 'inline',
    extensions: { probe: { config: { migrate: MIGRATION, ...config } } },
    ...options,
  });
  const app = express();
  app.use('/graphql', forge);
  await forge.host.ready();
  return {
    app,
    probe: () => forge.host.extension('probe')!,
    state: () => forge.host.status().find((s) => s.name === 'probe')!,
    close: async () => {
      await forge.host.close();
      ext.cleanup();
      data.cleanup();
    },
  };
}

async function gql(app: express.Express, query: string): Promise<GqlBody> {
  const res = await request(app).post('/graphql').send({ query }).expect(200);
  return res.body as GqlBody;
}

describe('SQL resolvers under attack', () => {
  describe('across extensions', () => {
    it("never hands another extension the columns a SQL resolver's rows carry beyond its type's fields, nor keys from them", async () => {
      // alpha's rows carry a column its Note does not expose (as the contract's own example
      // carries author_id). beta adds a field of that name to alpha's type; gamma keys on it.
      const ext = extensionsDir({ 'alpha.wasm': 'probe', 'beta.wasm': 'probe', 'gamma.wasm': 'probe' });
      const data = tempDir();
      const forge = forgeExtensions(ext.dir, {
        schema: usersSchema(),
        dataDir: data.dir,
        cacheDir: TEST_CACHE_DIR,
        logger: silentLogger,
        watch: false,
        isolation: 'inline',
        extensions: {
          alpha: {
            config: {
              sdl: 'type Note { id: ID! text: String! } extend type Query { notes: [Note!]! @sql(query: "SELECT id, text, secret FROM notes") }',
              migrate: "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT, secret TEXT); INSERT INTO notes SELECT 1, 'hi', 'alpha-password' WHERE NOT EXISTS (SELECT 1 FROM notes);",
            },
          },
          beta: {
            config: {
              sdl: `type Echo { parent: String }
                extend type Alpha_Note {
                  secret: String
                  echo(text: String): Echo!
                }`,
              migrate: 'CREATE TABLE IF NOT EXISTS x (a)',
              answers: { 'Alpha_Note.secret': 'beta answer' },
            },
          },
          gamma: {
            config: {
              sdl: `extend type Alpha_Note { leak: [String] @sql(query: "SELECT value AS k, 'gamma saw ' || value AS v FROM json_each(:keys)", key: "k", parentKey: "secret") }`,
              migrate: 'CREATE TABLE IF NOT EXISTS x (a)',
            },
          },
        },
      });
      const app = express().use('/graphql', forge);
      try {
        await forge.host.ready();
        assert.deepEqual(forge.host.status().map((s) => s.state), ['ready', 'ready', 'failed']);
        assert.match(forge.host.status()[2]!.error!, /leak @sql: parentKey "secret" is a field an extension adds to Alpha_Note/);
        const { data: answer, errors } = await gql(app, '{ notes { text secret echo { parent } } }');
        assert.equal(errors, undefined, JSON.stringify(errors));
        const note = answer!['notes'][0];
        assert.equal(note.secret, 'beta answer', 'what the client sees of the field beta added');
        assert.doesNotMatch(String(note.echo.parent), /alpha-password/, "beta's guest got alpha's hidden column in its parent");
        assert.deepEqual(JSON.parse(note.echo.parent), { id: 1, text: 'hi' });
      } finally {
        await forge.host.close();
        ext.cleanup();
        data.cleanup();
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

  describe('the directive where it does not belong', () => {
    it('refuses @sql on an interface field instead of ignoring it (its statement is never checked or run)', async () => {
      const served = await serve({
        sdl: `interface Thing { n: Int @sql(query: "SELECT count(*) FROM no_such_table") }
          type Note implements Thing { n: Int id: ID }
          extend type Query { note: Note @sql(query: "SELECT 1 AS id") }`,
      });
      try {
        const { state, error } = served.state();
        assert.equal(state, 'failed', 'the @sql on Thing.n was silently dropped: the guest is asked for Note.n');
        assert.match(error!, /Thing\.n @sql/);
      } finally {
        await served.close();
      }
    });

    it("resolves (or refuses) @sql on a root written with the application's own root name", async () => {
      const schema = makeExecutableSchema({
        typeDefs: 'schema { query: RootQuery mutation: RootMutation } type RootQuery { a: Int } type RootMutation { b: Int }',
        resolvers: { RootQuery: { a: () => 1 } },
      });
      const served = await serve({ sdl: 'extend type RootQuery { n: Int @sql(query: "SELECT 42") }' }, { schema });
      try {
        const { state, error } = served.state();
        if (state === 'failed') return assert.match(error!, /RootQuery\.n @sql/);
        const { data, errors } = await gql(served.app, '{ n }');
        assert.equal(errors, undefined, `the field went to the guest instead of its statement: ${JSON.stringify(errors)}`);
        assert.deepEqual(data, { n: 42 });
      } finally {
        await served.close();
      }
    });
  });

  describe('what the load-time check sees', () => {
    it('does not silently drop a client argument named keys on a keyed field (:keys would mean two things): refused at load', async () => {
      const served = await serve({
        sdl: `type Note { id: ID! }
          extend type User { notes(keys: [ID!]): [Note!]! @sql(query: "SELECT id, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "id") }`,
      });
      try {
        const { state, error } = served.state();
        if (state === 'failed') return assert.match(error!, /User\.notes @sql: .*keys/);
        const { data } = await gql(served.app, '{ user(id: "1") { notes(keys: ["999"]) { id } } }');
        assert.deepEqual(data, { user: { notes: [] } }, 'the client asked for the notes of author 999 and got those of user 1: its argument was dropped');
      } finally {
        await served.close();
      }
    });

    it('refuses a #name parameter that is not an argument (SQLite binds #name like :name)', async () => {
      const served = await serve({ sdl: 'extend type Query { p: Int @sql(query: "SELECT #x") n: Int @sql(query: "SELECT 1") }' });
      try {
        const { state, error } = served.state();
        assert.equal(state, 'failed', 'the statement loaded, and every call fails with "Missing named parameter"');
        assert.match(error!, /Query\.p @sql: .*x/);
      } finally {
        await served.close();
      }
    });

    it('does not pass statements that read what only the checking connection has (a TEMP table made by migrate): every instance answers', async () => {
      const served = await serve(
        {
          sdl: `extend type Query {
            t: Int @sql(query: "SELECT count(*) FROM scratch")
            busy: Int @sql(query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c") }`,
          migrate: 'CREATE TEMP TABLE IF NOT EXISTS scratch (a); INSERT INTO scratch VALUES (1);',
        },
        { isolation: 'worker', workers: 2, limits: { timeoutMs: 60_000 } },
      );
      try {
        const { state, error } = served.state();
        if (state === 'failed') return assert.match(error!, /Query\.t @sql/);
        assert.deepEqual((await gql(served.app, '{ t }')).data, { t: 1 }, 'the first instance (it ran migrate) answers');
        // The first instance busy, the next call goes to the second, which never ran migrate.
        const calls = served.probe().stats.calls;
        const busy = gql(served.app, '{ busy }');
        while (served.probe().stats.calls === calls) await new Promise((resolve) => setTimeout(resolve, 5));
        const { data, errors } = await gql(served.app, '{ t }');
        assert.equal((await busy).data!['busy'], 3000000);
        assert.equal(errors, undefined, JSON.stringify(errors));
        assert.deepEqual(data, { t: 1 });
      } finally {
        await served.close();
      }
    });
  });

  describe('hot reload', () => {
    it('a version refused at sql-resolvers leaves the database as the serving version needs it (nothing half-applied)', async function () {
      this.timeout(120_000);
      // The serving version is the counter fixture (a guest reading its table `counter`); the
      // new one (probe) migrates that table away, then its SQL resolver does not prepare.
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
        isolation: 'inline',
        extensions: { probe: { config: { sdl: 'extend type Query { x: Int @sql(query: "SELECT nope FROM gone") }', migrate: 'ALTER TABLE counter RENAME TO gone' } } },
      });
      const app = express().use('/graphql', forge);
      try {
        await forge.host.ready();
        assert.deepEqual((await gql(app, '{ counter { n } }')).data, { counter: [{ n: 0 }] });
        const failed = new Promise<{ error: Error & { step?: string } }>((resolve) => forge.host.once('failed', resolve));
        put('probe');
        const { error } = await failed;
        assert.equal(error.step, 'sql-resolvers', error.message);
        const { data: answer, errors } = await gql(app, '{ counter { n } }');
        assert.equal(errors, undefined, `the serving version lost its table to the refused version's migration: ${JSON.stringify(errors)}`);
        assert.deepEqual(answer, { counter: [{ n: 0 }] });
      } finally {
        await forge.host.close();
        ext.cleanup();
        data.cleanup();
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

    it('fails a json column nested too deeply to answer with EXTENSION_BAD_RESPONSE naming the column, as a guest\'s answer is', async () => {
      const served = await serve({
        sdl: `extend type Query {
          deep(n: Int!): String @sql(query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) SELECT (SELECT group_concat('[', '') FROM c) || (SELECT group_concat(']', '') FROM c) AS d", json: ["d"])
          n: Int @sql(query: "SELECT 1") }`,
      });
      try {
        const { data, errors } = await gql(served.app, '{ deep(n: 100000) n }');
        assert.equal(data!['n'], 1, 'the other field answers');
        assert.equal(errors?.length, 1);
        assert.equal(errors![0]!.extensions?.code, 'EXTENSION_BAD_RESPONSE', errors![0]!.message);
        assert.match(errors![0]!.message, /"d"|nested too deeply/);
        assert.deepEqual((await gql(served.app, '{ n }')).data, { n: 1 }, 'the server answers afterwards');
      } finally {
        await served.close();
      }
    });
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
