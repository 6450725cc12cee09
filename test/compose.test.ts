/**
 * Schema composition: errors that name the extension, line and column; clashes that name both
 * owners; namespacing on and off; routing of lazy fields and abstract types through real
 * extensions.
 */
import assert from 'node:assert/strict';
import { buildSchema, printSchema, type GraphQLObjectType } from 'graphql';
import request from 'supertest';
import { composeSchema } from '../lib/schema/compose.js';
import { typePrefix } from '../lib/schema/namespace.js';
import { baseSchema } from '../examples/base-schema.js';
import { appFixture } from './apps.js';

const input = (name: string, sdl: string, namespace: 'prefix' | 'none' = 'prefix') => ({ name, sdl, namespace });

describe('composition', () => {
  it('prefixes own types with the extension name and leaves added fields alone', () => {
    const { schema, rejected } = composeSchema(baseSchema, [
      input('my-ext', 'type Item { id: ID! tags: [Tag!]! } enum Tag { A B } extend type Query { items: [Item!]! } extend type Repository { items: [Item!]! }'),
    ]);
    assert.deepEqual(rejected, []);
    const sdl = printSchema(schema);
    assert.match(sdl, /type MyExt_Item \{\n {2}id: ID!\n {2}tags: \[MyExt_Tag!\]!\n\}/);
    assert.match(sdl, /items: \[MyExt_Item!\]!/);
    assert.ok(schema.getType('Repository'), 'base types keep their names');
    assert.equal(typePrefix('issues'), 'Issues_');
  });

  it('keeps names with namespace none', () => {
    const { schema } = composeSchema(baseSchema, [input('shop', 'type Item { id: ID! } extend type Query { items: [Item!]! }', 'none')]);
    assert.ok(schema.getType('Item'));
  });

  it('reports SDL syntax errors with the extension, line and column', () => {
    const { rejected } = composeSchema(baseSchema, [input('broken', 'extend type Query {\n  ok: Int\n  bad(: Int\n}')]);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.error.message, 'extension "broken": invalid SDL: syntax error: Expected Name, found ":". (SDL line 3, column 7)');
  });

  it('reports unknown types in the extension\'s own names', () => {
    const { rejected } = composeSchema(baseSchema, [input('typo', 'type Item { owner: Usr }\nextend type Query { items: [Item] }')]);
    assert.equal(rejected[0]!.error.message, 'extension "typo": Unknown type "Usr". (SDL line 1, column 20)');
  });

  it('refuses a type clash and names both owners', () => {
    const { rejected, accepted } = composeSchema(baseSchema, [
      input('a', 'type Item { id: ID! } extend type Query { aItems: [Item!]! }', 'none'),
      input('b', 'type Item { id: ID! } extend type Query { bItems: [Item!]! }', 'none'),
      input('c', 'type Repository { id: ID! }', 'none'),
    ]);
    assert.deepEqual(accepted.map((a) => a.name), ['a']);
    assert.deepEqual(rejected.map((r) => r.error.message), [
      'extension "b": type "Item" is already defined by extension "a"',
      'extension "c": type "Repository" is already defined by the application schema',
    ]);
  });

  it('allows the same type name in two extensions with prefixes', () => {
    const { rejected, schema } = composeSchema(baseSchema, [
      input('a', 'type Item { id: ID! } extend type Query { aItems: [Item!]! }'),
      input('b', 'type Item { id: ID! } extend type Query { bItems: [Item!]! }'),
    ]);
    assert.deepEqual(rejected, []);
    assert.ok(schema.getType('A_Item') && schema.getType('B_Item'));
  });

  it('refuses a field clash with another extension or the base schema, naming both', () => {
    const { rejected } = composeSchema(baseSchema, [
      input('a', 'extend type Query { shared: Int }'),
      input('b', 'extend type Query { shared: Int }'),
      input('c', 'extend type Repository { stars: Int }'),
    ]);
    assert.deepEqual(rejected.map((r) => r.error.message), [
      'extension "b": field "Query.shared" is already defined by extension "a"',
      'extension "c": field "Repository.stars" is already defined by the application schema',
    ]);
  });

  it('treats `type Query` in an extension as root fields, and refuses what it cannot serve', () => {
    const { rejected, schema } = composeSchema(baseSchema, [
      input('roots', 'type Query { fromRoots: Int } type Mutation { doIt: Int }'),
      input('subs', 'type Subscription { tick: Int }'),
      input('directives', 'directive @cached on FIELD_DEFINITION'),
      input('schema', 'schema { query: Query }'),
      input('nowhere', 'extend type Missing { x: Int }'),
    ]);
    assert.ok(schema.getQueryType()!.getFields()['fromRoots']);
    assert.ok(schema.getMutationType()!.getFields()['doIt'], 'a Mutation root is created when the base has none');
    assert.deepEqual(rejected.map((r) => r.error.message), [
      'extension "subs": subscriptions are not supported: the host serves queries and mutations (SDL line 1, column 1)',
      'extension "directives": directive definitions are not supported in extensions (SDL line 1, column 1)',
      'extension "schema": an extension cannot define the schema: use `extend type Query` / `extend type Mutation` (SDL line 1, column 1)',
      'extension "nowhere": Cannot extend type "Missing" because it is not defined. (SDL line 1, column 13)',
    ]);
  });

  it('serves a schema without a base, and leaves no placeholder once an extension adds fields', () => {
    assert.equal(printSchema(composeSchema(undefined, []).schema).trim(), 'type Query {\n  _empty: Boolean\n}');
    const { schema } = composeSchema(undefined, [input('x', 'extend type Query { x: Int }')]);
    assert.equal(printSchema(schema).trim(), 'type Query {\n  x: Int\n}');
    const writes = composeSchema(undefined, [input('w', 'extend type Mutation { w: Int }')]).schema;
    assert.equal(printSchema(writes).trim(), 'type Query {\n  _empty: Boolean\n}\n\ntype Mutation {\n  w: Int\n}');
  });

  it('composes an extension after the extensions whose types it uses, whatever the order given', () => {
    const widget = input('zzz', 'type Widget { id: ID } extend type Query { widget: Widget }', 'none');
    const extra = input('aaa', 'extend type Widget { extra: String }', 'none');
    const user = input('mmm', 'type Holder { w: Widget } extend type Query { holder: Holder }', 'none');
    for (const order of [[extra, user, widget], [widget, extra, user], [user, widget, extra]]) {
      const { rejected, accepted, schema } = composeSchema(baseSchema, order);
      assert.deepEqual(rejected, [], order.map((i) => i.name).join());
      assert.equal(accepted[0]!.name, 'zzz');
      assert.ok((schema.getType('Widget') as GraphQLObjectType).getFields()['extra']);
    }
  });

  it('refuses a dependency cycle naming its extensions; a user of the cycle fails on its own', () => {
    const { rejected, accepted } = composeSchema(baseSchema, [
      input('c', 'extend type A { more: Int }', 'none'),
      input('a', 'type A { b: B } extend type Query { a: A }', 'none'),
      input('b', 'type B { a: A }', 'none'),
      input('d', 'type Other { id: ID } extend type Query { other: Other }', 'none'),
    ]);
    assert.deepEqual(accepted.map((a) => a.name), ['d']);
    const cycle = 'extensions use each other\'s types in a cycle (a -> b -> a): they cannot compose';
    assert.deepEqual(rejected.map((r) => [r.error.message, [...r.uses]]), [
      ['extension "c": Cannot extend type "A" because it is not defined. (SDL line 1, column 13); type "A" is defined by extension "a", which did not compose', ['A', 'Int']],
      [`extension "a": ${cycle}`, ['B', 'Query']],
      [`extension "b": ${cycle}`, ['A']],
    ]);
  });

  it('keeps the base schema\'s own objects untouched', () => {
    const base = buildSchema('type Query { a: Int } type Mutation { b: Int }');
    const before = base.getQueryType();
    composeSchema(base, [input('x', 'extend type Query { x: Int }')]);
    assert.equal(base.getQueryType(), before);
    assert.deepEqual(Object.keys(base.getQueryType()!.getFields()), ['a']);
  });
});

describe('composition through the host', () => {
  const fixture = appFixture();

  const serve = (files: Record<string, string>, extensions: Record<string, object>, extra: object = {}) => fixture.startWith(files, { extensions, ...extra });
  const query = async (q: string) => (await request(fixture.app.handler).post('/graphql').send({ query: q }).expect(200)).body;

  it('rejects the later of two clashing extensions (by name) and reports it in status()', async () => {
    const sdl = 'extend type Query { shared: String }';
    await serve({ 'a.wasm': 'probe', 'b.wasm': 'probe' }, { a: { config: { sdl } }, b: { config: { sdl } } });
    const status = fixture.app.host.status();
    assert.deepEqual(status.map((s) => [s.name, s.state]), [['a', 'ready'], ['b', 'failed']]);
    assert.equal(status[1]!.error, 'extension "b" failed at compose: field "Query.shared" is already defined by extension "a"');
  });

  it('reports a bad SDL from a real extension with line and column, and serves the others', async () => {
    await serve({ 'counter.wasm': 'counter', 'bad.wasm': 'bad-sdl' }, {});
    const bad = fixture.app.host.status().find((s) => s.name === 'bad')!;
    assert.equal(bad.state, 'failed');
    assert.equal(bad.error, 'extension "bad" failed at compose: invalid SDL: syntax error: Expected Name, found ":". (SDL line 2, column 10)');
    assert.deepEqual((await query('{ hello }')).data, { hello: 'world' });
  });

  it('reads own-type fields from the parent, and asks the extension only for absent ones', async () => {
    const sdl = 'type Thing { id: ID! name: String! } extend type Query { thing: Thing! }';
    await serve({ 'probe.wasm': 'probe' }, { probe: { config: { sdl, answers: { 'Query.thing': { id: '7' }, 'Thing.name': 'lazily resolved' } } } });
    assert.deepEqual((await query('{ thing { id name } }')).data, { thing: { id: '7', name: 'lazily resolved' } });
  });

  it('maps __typename of interfaces and unions, the extension\'s own and the base schema\'s', async () => {
    const { makeExecutableSchema } = await import('@graphql-tools/schema');
    const schema = makeExecutableSchema({
      typeDefs: 'interface Node { id: ID! } type User implements Node { id: ID! } type Query { me: Node }',
      resolvers: { Query: { me: () => ({ id: 'u1', kind: 'user' }) }, Node: { __resolveType: (v: { kind?: string }) => (v.kind === 'user' ? 'User' : undefined) } },
    });
    const sdl = `
      interface Shape { area: Float! }
      type Square implements Shape { area: Float! side: Float! }
      union Found = Square
      type Doc implements Node { id: ID! }
      extend type Query { shapes: [Shape!]! found: Found nodes: [Node!]! }`;
    const answers = {
      'Query.shapes': [{ __typename: 'Square', area: 4, side: 2 }],
      'Query.found': { __typename: 'Square', area: 9, side: 3 },
      'Query.nodes': [{ __typename: 'Doc', id: 'd1' }],
    };
    await serve({ 'probe.wasm': 'probe' }, { probe: { config: { sdl, answers } } }, { schema });
    const res = await query(`{
      shapes { __typename area ... on Probe_Square { side } }
      found { __typename ... on Probe_Square { side } }
      nodes { __typename id }
      me { __typename id }
    }`);
    assert.deepEqual(res, {
      data: {
        shapes: [{ __typename: 'Probe_Square', area: 4, side: 2 }],
        found: { __typename: 'Probe_Square', side: 3 },
        nodes: [{ __typename: 'Probe_Doc', id: 'd1' }],
        me: { __typename: 'User', id: 'u1' },
      },
    });
  });

  it('applies namespace per extension', async () => {
    const sdl = 'type Item { id: ID! } extend type Query { item: Item }';
    await serve({ 'probe.wasm': 'probe' }, { probe: { namespace: 'none', config: { sdl } } });
    assert.ok(fixture.app.host.schema().getType('Item'));
  });
});
