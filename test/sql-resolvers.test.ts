/**
 * SQL resolvers (`@sql` in an extension's SDL): the host runs the statement on the extension's
 * own database, inside its isolation, with the rules of every other call. The `probe` fixture
 * serves the SDL and runs the migration its config gives, so every case is a real component,
 * a real SQLite file and real HTTP.
 */
import assert from 'node:assert/strict';
import { buildClientSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import { MAX_CALL_FIELDS } from '../lib/runtime/extension.js';
import { gql, serve, usersSchema, type Served } from './sql-resolvers-app.js';

/** The application's schema: 40 users, served from memory. */
const baseSchema = usersSchema(40);

/** The issue's example: notes with JSON tags, a count, notes of the application's users, a mutation. */
export const NOTES_SDL = /* GraphQL */ `
  type Note { id: ID! text: String! tags: [String!]! pinned: Boolean! authorId: Int }
  enum Order { OLDEST NEWEST }
  extend type Query {
    notes(tag: String, order: Order = OLDEST): [Note!]! @sql(query: "SELECT id, text, tags, pinned, author_id AS authorId FROM notes WHERE :tag IS NULL OR EXISTS (SELECT 1 FROM json_each(tags) WHERE value = :tag) ORDER BY CASE :order WHEN 'NEWEST' THEN -id ELSE id END", json: ["tags"])
    noteCount: Int! @sql(query: "SELECT count(*) FROM notes")
    note(id: ID!): Note @sql(query: "SELECT id, text, tags, pinned FROM notes WHERE id = :id", json: ["tags"])
    texts(ids: [ID!]!): [String!]! @sql(query: "SELECT text FROM notes WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id")
    anyPinned: Boolean! @sql(query: "SELECT max(pinned) FROM notes")
    "Answered by the guest."
    echo(text: String): Echo!
  }
  type Echo { fieldName: String! }
  extend type User {
    notes: [Note!]! @sql(query: "SELECT id, text, tags, pinned, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys)) ORDER BY id", key: "author_id", parentKey: "id", json: ["tags"])
    noteCount: Int @sql(query: "SELECT author_id, count(*) AS n FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys)) GROUP BY author_id", key: "author_id", parentKey: "id")
  }
  extend type Mutation {
    addNote(text: String!, authorId: Int, tags: [String!] = []): Note! @sql(query: "INSERT INTO notes (text, author_id, tags) VALUES (:text, :authorId, :tags) RETURNING id, text, tags, pinned", json: ["tags"])
    deleteNotes(authorId: Int!): Int! @sql(query: "DELETE FROM notes WHERE author_id = :authorId")
  }
`;
/** 50 notes: note k by user (k mod 20) + 1, so users 21-40 have none. */
export const NOTES_MIGRATION = `
  CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, tags TEXT NOT NULL DEFAULT '[]', pinned INTEGER NOT NULL DEFAULT 0, author_id INTEGER);
  INSERT INTO notes (text, tags, pinned, author_id)
    WITH RECURSIVE k(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM k WHERE value < 50)
    SELECT 'note ' || value, CASE WHEN value % 2 = 0 THEN '["even"]' ELSE '["odd","x"]' END, value = 7, value % 20 + 1
    FROM k WHERE NOT EXISTS (SELECT 1 FROM notes);`;

describe('SQL resolvers', () => {
  for (const isolation of ['inline', 'worker', 'process'] as const) {
    describe(`in ${isolation} isolation`, () => {
      let served: Served;
      before(async () => (served = await serve({ sdl: NOTES_SDL, migrate: NOTES_MIGRATION }, { isolation, schema: baseSchema })));
      after(() => served.close());

      it('answers lists, scalars, objects, JSON columns and booleans from rows, arguments bound by name', async () => {
        const { data, errors } = await gql(
          served.app,
          '{ notes(tag: "even") { id text tags pinned } noteCount note(id: 7) { text tags pinned } missing: note(id: 999) { id } texts(ids: [3, "1"]) anyPinned newest: notes(order: NEWEST) { id } }',
        );
        assert.equal(errors, undefined, JSON.stringify(errors));
        assert.equal(data!['notes'].length, 25);
        assert.deepEqual(data!['notes'][0], { id: '2', text: 'note 2', tags: ['even'], pinned: false });
        assert.equal(data!['noteCount'], 50);
        assert.deepEqual(data!['note'], { text: 'note 7', tags: ['odd', 'x'], pinned: true });
        assert.equal(data!['missing'], null);
        assert.deepEqual(data!['texts'], ['note 1', 'note 3']);
        assert.equal(data!['anyPinned'], true);
        assert.equal(data!['newest'][0].id, '50', 'the enum argument binds as its name');
      });

      it('resolves the notes of every user of a request with one call and one statement (N+1)', async () => {
        let before = served.probe().stats.calls;
        const notesOnly = await gql(served.app, '{ users { notes { id } } }');
        assert.equal(notesOnly.errors, undefined, JSON.stringify(notesOnly.errors));
        assert.equal(served.probe().stats.calls - before, 1, 'one call for the 40 parents');
        before = served.probe().stats.calls;
        const { data, errors } = await gql(served.app, '{ users { id notes { id tags } noteCount } }');
        assert.equal(errors, undefined, JSON.stringify(errors));
        assert.equal(served.probe().stats.calls - before, 1, '80 fields but two statements: one call (MAX_BATCH_FIELDS counts statements)');
        const byId = new Map((data!['users'] as Array<{ id: string; notes: Array<{ id: string }>; noteCount: number | null }>).map((u) => [u.id, u]));
        assert.deepEqual(byId.get('2')!.notes.map((n) => n.id), ['1', '21', '41']);
        assert.equal(byId.get('2')!.noteCount, 3);
        assert.deepEqual(byId.get('40')!.notes, [], 'a parent without rows gets an empty list');
        assert.equal(byId.get('40')!.noteCount, null, '... and a scalar null');
      });

      it(`shares one call among the fields of one statement, up to ${MAX_CALL_FIELDS} fields a call`, async () => {
        // 4 x 40 parents of one keyed field with the same arguments: one statement, 160 fields.
        const four = `{ ${[1, 2, 3, 4].map((i) => `u${i}: users { notes { id } }`).join(' ')} }`;
        let before = served.probe().stats.calls;
        const shared = await gql(served.app, four);
        assert.equal(shared.errors, undefined, JSON.stringify(shared.errors));
        assert.deepEqual(shared.data!['u4'], shared.data!['u1']);
        assert.equal(served.probe().stats.calls - before, 1, '160 fields of one statement: one call');
        // 7 x 40 = 280 fields: more than one call may carry.
        before = served.probe().stats.calls;
        const seven = await gql(served.app, `{ ${[1, 2, 3, 4, 5, 6, 7].map((i) => `u${i}: users { notes { id } }`).join(' ')} }`);
        assert.equal(seven.errors, undefined, JSON.stringify(seven.errors));
        assert.equal(served.probe().stats.calls - before, Math.ceil(280 / MAX_CALL_FIELDS), `at most ${MAX_CALL_FIELDS} fields a call`);
        // Different arguments are different statements: each takes a unit (64 to a call).
        before = served.probe().stats.calls;
        const notes = await Promise.all(Array.from({ length: 70 }, (_, i) => served.probe().resolveField({ typeName: 'Query', fieldName: 'note', arguments: { id: i + 1 } })));
        assert.equal(served.probe().stats.calls - before, 2, '70 statements: two calls of at most 64 (MAX_BATCH_FIELDS)');
        assert.equal((notes[49] as { text: string }).text, 'note 50');
        assert.equal(notes[69], null, 'there are 50 notes');
      });

      it('runs a Mutation field in its own transaction; a failing statement writes nothing and fails only its field', async () => {
        const added = await gql(served.app, 'mutation { addNote(text: "fresh", authorId: 40, tags: ["a"]) { id text tags pinned } }');
        assert.equal(added.errors, undefined, JSON.stringify(added.errors));
        assert.deepEqual(added.data!['addNote'].tags, ['a']);
        const duplicate = await gql(served.app, 'mutation { addNote(text: "fresh") { id } }');
        assert.equal(duplicate.errors?.[0]?.extensions?.code, 'EXTENSION_ERROR');
        assert.match(duplicate.errors![0]!.message, /UNIQUE constraint failed: notes\.text/);
        const deleted = await gql(served.app, 'mutation { deleteNotes(authorId: 40) }');
        assert.equal(deleted.data!['deleteNotes'], 1, 'a statement without rows answers its changes');
        assert.equal((await gql(served.app, '{ noteCount }')).data!['noteCount'], 50);
      });
    });
  }

  describe('the served schema', () => {
    let served: Served;
    before(async () => (served = await serve({ sdl: NOTES_SDL, migrate: NOTES_MIGRATION }, { schema: baseSchema })));
    after(() => served.close());

    it('carries no trace of the directive or its SQL (clients never see an extension\'s statements)', async () => {
      const { data } = await gql(served.app, '{ __schema { directives { name } } }');
      assert.ok(!(data!['__schema'].directives as Array<{ name: string }>).some((d) => d.name === 'sql'));
      const printed = printSchema(buildClientSchema((await gql(served.app, getIntrospectionQuery())).data as unknown as IntrospectionQuery));
      assert.doesNotMatch(printed, /@sql|SELECT|json_each/);
    });

    it('mixes with guest resolvers: the guest answers its own fields in the same call', async () => {
      const { data, errors } = await gql(served.app, '{ noteCount echo(text: "hi") { fieldName } }');
      assert.equal(errors, undefined, JSON.stringify(errors));
      assert.deepEqual(data, { noteCount: 50, echo: { fieldName: 'echo' } });
    });

    it("matches a parent's key to the key column by its text (an ID \"2\" finds author_id 2)", async () => {
      const { data } = await gql(served.app, '{ user(id: "2") { noteCount } }');
      assert.deepEqual(data, { user: { noteCount: 3 } });
    });
  });
});
