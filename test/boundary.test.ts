/**
 * The GraphQL boundary through HTTP with a real extension (the `probe` fixture, its SDL and
 * answers set by config): base abstract types resolved the way graphql-js would without an
 * extension, own properties only, serialized enums and scalars in both directions (arguments,
 * defaults, input objects, lists, variables, parents, answers), and `__typename` mapped at
 * every abstract position.
 */
import assert from 'node:assert/strict';
import {
  GraphQLEnumType,
  GraphQLError,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  GraphQLUnionType,
  Kind,
} from 'graphql';
import request from 'supertest';
import { appFixture } from './apps.js';

class CatClass {
  constructor(readonly name: string) {}
}
class DogClass {
  constructor(readonly name: string) {}
}

/** A base schema written with graphql-js classes: `isTypeOf`, internal enum values, a scalar in cents. */
function classBaseSchema(): GraphQLSchema {
  const Cat = new GraphQLObjectType({ name: 'Cat', fields: { name: { type: GraphQLString } }, isTypeOf: (v) => v instanceof CatClass });
  const Dog = new GraphQLObjectType({ name: 'Dog', fields: { name: { type: GraphQLString } }, isTypeOf: (v) => v instanceof DogClass });
  const Pet = new GraphQLUnionType({ name: 'Pet', types: [Cat, Dog] });
  const Color = new GraphQLEnumType({ name: 'Color', values: { RED: { value: 0 }, GREEN: { value: 1 } } });
  const money = (text: unknown) => {
    if (typeof text !== 'string' || !/^\d+\.\d\d$/.test(text)) throw new GraphQLError(`Money must be a string like "12.34", got ${JSON.stringify(text)}`);
    return Math.round(Number(text) * 100);
  };
  const Money = new GraphQLScalarType({
    name: 'Money',
    serialize: (cents) => ((cents as number) / 100).toFixed(2),
    parseValue: money,
    parseLiteral: (ast) => money(ast.kind === Kind.STRING ? ast.value : undefined),
  });
  const PaintInput = new GraphQLInputObjectType({ name: 'PaintInput', fields: { color: { type: Color }, colors: { type: new GraphQLList(Color) } } });
  const Account = new GraphQLObjectType({ name: 'Account', fields: { id: { type: GraphQLID }, balance: { type: Money }, color: { type: Color } } });
  const Query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      pets: { type: new GraphQLList(Pet), resolve: () => [new CatClass('tom'), new DogClass('rex')] },
      account: { type: Account, resolve: () => ({ id: 'a1', balance: 1234, color: 1 }) },
    },
  });
  return new GraphQLSchema({ query: Query, types: [PaintInput] });
}

describe('the GraphQL boundary', () => {
  const fixture = appFixture();

  const serve = async (schema: GraphQLSchema, sdl: string, answers: object) => {
    const app = await fixture.startWith({ 'probe.wasm': 'probe' }, { schema, extensions: { probe: { config: { sdl, answers } } } });
    assert.equal(app.host.status()[0]!.state, 'ready', app.host.status()[0]!.error);
  };
  const query = async (q: string, variables?: object) => (await request(fixture.app.handler).post('/graphql').send({ query: q, variables }).expect(200)).body;
  const echoed = async (q: string, variables?: object) => {
    const res = await query(q, variables);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return JSON.parse(res.data.echo.arguments);
  };

  it('resolves a base union by isTypeOf when an extension with its own types is loaded (row 1)', async () => {
    await serve(classBaseSchema(), 'type Thing { id: ID } extend type Query { thing: Thing }', { 'Query.thing': { id: 't' } });
    assert.deepEqual(await query('{ pets { __typename ... on Cat { name } ... on Dog { name } } thing { id } }'), {
      data: { pets: [{ __typename: 'Cat', name: 'tom' }, { __typename: 'Dog', name: 'rex' }], thing: { id: 't' } },
    });
  });

  it('reads only own properties of an answer: constructor, toString, valueOf are asked for (row 2)', async () => {
    const sdl = 'type Thing { name: String constructor: String toString: String valueOf: Int hasOwnProperty: String } extend type Query { thing: Thing }';
    const answers = { 'Query.thing': { name: 'a' }, 'Thing.constructor': 'C', 'Thing.toString': 'S', 'Thing.valueOf': 7, 'Thing.hasOwnProperty': 'H' };
    await serve(classBaseSchema(), sdl, answers);
    assert.deepEqual(await query('{ thing { name constructor toString valueOf hasOwnProperty } }'), {
      data: { thing: { name: 'a', constructor: 'C', toString: 'S', valueOf: 7, hasOwnProperty: 'H' } },
    });
  });

  describe('base enums and scalars cross in their serialized form (row 3)', () => {
    const sdl = `
      type Echo { arguments: String parent: String }
      enum Tone { LIGHT DARK }
      scalar Hex
      type Shade { name: String color: Color price: Money tone: Tone hex: Hex colors: [Color] echo: Echo }
      extend type Query {
        echo(c: Color, d: Color = GREEN, m: Money, p: PaintInput, list: [Color], tone: Tone, hex: Hex): Echo
        paint: Color
        price: Money
        shade: Shade
        bad: Color
        badPrice: Money
        otherAccount: Account
      }
      extend type Account { echo: Echo }`;
    const answers = {
      'Query.paint': 'RED',
      'Query.price': '5.00',
      'Query.shade': { name: 's', color: 'GREEN', price: '1.50', tone: 'DARK', hex: '#fff', colors: ['RED', 'GREEN'] },
      'Query.bad': 'PURPLE',
      'Query.badPrice': 500,
      'Query.otherAccount': { id: 'a2', balance: '3.00', color: 'RED' },
    };
    beforeEach(() => serve(classBaseSchema(), sdl, answers));

    it('sends arguments serialized: literals, the default value, input objects, lists', async () => {
      const args = await echoed('{ echo(c: GREEN, m: "12.34", p: { color: RED, colors: [GREEN, RED] }, list: [RED, GREEN], tone: DARK, hex: "#0f0") { arguments } }');
      assert.deepEqual(args, { c: 'GREEN', d: 'GREEN', m: '12.34', p: { color: 'RED', colors: ['GREEN', 'RED'] }, list: ['RED', 'GREEN'], tone: 'DARK', hex: '#0f0' });
    });

    it('sends variables serialized', async () => {
      const args = await echoed('query ($c: Color, $m: Money, $p: PaintInput) { echo(c: $c, m: $m, p: $p) { arguments } }', {
        c: 'RED',
        m: '0.07',
        p: { colors: ['RED'] },
      });
      assert.deepEqual(args, { c: 'RED', d: 'GREEN', m: '0.07', p: { colors: ['RED'] } });
    });

    it('parses answers back before the base type serializes them', async () => {
      assert.deepEqual(await query('{ paint price }'), { data: { paint: 'RED', price: '5.00' } });
    });

    it('serves base and own enums and scalars as fields of the extension\'s own type, and sends that parent back serialized', async () => {
      const res = await query('{ shade { name color price tone hex colors echo { parent } } }');
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      const { echo, ...shade } = res.data.shade;
      assert.deepEqual(shade, { name: 's', color: 'GREEN', price: '1.50', tone: 'DARK', hex: '#fff', colors: ['RED', 'GREEN'] });
      assert.deepEqual(JSON.parse(echo.parent), answers['Query.shade']);
    });

    it('parses a base object type\'s fields in an answer', async () => {
      assert.deepEqual(await query('{ otherAccount { id balance color } }'), { data: { otherAccount: { id: 'a2', balance: '3.00', color: 'RED' } } });
    });

    it('sends a base parent object serialized', async () => {
      const res = await query('{ account { balance color echo { parent } } }');
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.deepEqual(res.data.account.balance, '12.34');
      assert.deepEqual(JSON.parse(res.data.account.echo.parent), { id: 'a1', balance: '12.34', color: 'GREEN' });
    });

    it('refuses an answer the base type cannot parse at that field only, and keeps serving', async () => {
      const res = await query('{ bad badPrice paint }');
      assert.deepEqual(res.data, { bad: null, badPrice: null, paint: 'RED' });
      assert.deepEqual(
        res.errors.map((e: { message: string; path: string[] }) => [e.path.join('.'), e.message]),
        [
          ['bad', 'Color cannot represent the extension\'s value "PURPLE": Value "PURPLE" does not exist in "Color" enum.'],
          ['badPrice', 'Money cannot represent the extension\'s value 500: Money must be a string like "12.34", got 500'],
        ],
      );
      assert.deepEqual((await query('{ price }')).data, { price: '5.00' });
    });
  });

  it('maps __typename at every abstract position: nested, in lists, interfaces and unions, base and own (row 5)', async () => {
    const { makeExecutableSchema } = await import('@graphql-tools/schema');
    const schema = makeExecutableSchema({
      typeDefs: 'interface Node { id: ID! } type User implements Node { id: ID! } type Query { me: Node }',
      resolvers: { Query: { me: () => ({ id: 'u1', kind: 'user' }) }, Node: { __resolveType: (v: { kind?: string }) => (v.kind === 'user' ? 'User' : undefined) } },
    });
    const sdl = `
      type Echo { arguments: String parent: String }
      type Widget implements Node & Shape { id: ID! size: Int }
      type Gadget implements Shape { size: Int }
      interface Shape { size: Int }
      union Found = Widget | Gadget
      type Box { item: Node items: [[Node]] found: [Found] shape: Shape inner: Box echo: Echo }
      extend type Query { nodes: [Node] box: Box }`;
    const widget = { __typename: 'Widget', id: 'w1', size: 3 };
    const box = { item: widget, items: [[widget], [widget]], found: [widget, { __typename: 'Gadget', size: 1 }], shape: { __typename: 'Gadget', size: 2 } };
    await serve(schema, sdl, { 'Query.nodes': [widget], 'Query.box': { ...box, inner: box } });
    const res = await query(`{
      nodes { __typename id ... on Probe_Widget { size } }
      box {
        item { __typename id ... on Probe_Widget { size } }
        items { __typename }
        found { __typename }
        shape { __typename size }
        inner { item { __typename } found { __typename } echo { parent } }
      }
      me { __typename id }
    }`);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const { echo, ...inner } = res.data.box.inner;
    assert.deepEqual({ ...res.data, box: { ...res.data.box, inner } }, {
      nodes: [{ __typename: 'Probe_Widget', id: 'w1', size: 3 }],
      box: {
        item: { __typename: 'Probe_Widget', id: 'w1', size: 3 },
        items: [[{ __typename: 'Probe_Widget' }], [{ __typename: 'Probe_Widget' }]],
        found: [{ __typename: 'Probe_Widget' }, { __typename: 'Probe_Gadget' }],
        shape: { __typename: 'Probe_Gadget', size: 2 },
        inner: { item: { __typename: 'Probe_Widget' }, found: [{ __typename: 'Probe_Widget' }, { __typename: 'Probe_Gadget' }] },
      },
      me: { __typename: 'User', id: 'u1' },
    });
    // The parent goes back in the extension's own names.
    assert.deepEqual(JSON.parse(echo.parent), box);
  });
});
