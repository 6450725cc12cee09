/**
 * SQL resolvers (`@sql`) attacked by a hostile extension author and a hostile client. Each
 * case is a real `probe` component serving the SDL and migration its config gives, a real
 * SQLite file and real HTTP; each asserts what the contract (docs/contract.md, "SQL
 * resolvers") promises, and that the host still answers afterwards. This file: what is
 * refused at load (a version refused on hot reload: migration-commit.test.ts);
 * sql-resolvers-attack.test.ts: what their statements read and answer.
 */
import assert from 'node:assert/strict';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { gql, serve } from './sql-resolvers-app.js';

describe('SQL resolvers under attack', () => {
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
});
