/**
 * Hostile answers and parents at the GraphQL boundary, through HTTP with real extensions (the
 * `probe` fixture, its SDL and answers set by config): every refused value is a named
 * `EXTENSION_BAD_RESPONSE` error at its position, the rest of the answer and the other
 * extensions keep serving, and an extension cannot make another one resolve an object it forged.
 */
import assert from 'node:assert/strict';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import request from 'supertest';
import { appFixture } from './apps.js';

interface ResponseError {
  message: string;
  path: Array<string | number>;
  extensions?: { code?: string; extension?: string };
}

/** An application schema with a base interface, an internal-valued enum, a strict scalar and a self-referring object. */
function baseSchema(): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: `
      interface Node { id: ID! }
      type User implements Node { id: ID! }
      enum Color { RED GREEN }
      scalar Strict
      type Account { id: ID color: Color self: Account }
      type Query { me: Node account: Account }`,
    resolvers: {
      Color: { RED: 0, GREEN: 1 },
      Strict: {
        serialize: (v: unknown) => v,
        // Throws a string, not an Error.
        parseValue: (v: unknown) => {
          if (v !== 'ok') throw `Strict takes only "ok"`; // eslint-disable-line no-throw-literal
          return v;
        },
        parseLiteral: () => 'ok',
      },
      Query: {
        me: () => ({ id: 'u1', kind: 'user' }),
        account: () => {
          const account: Record<string, unknown> = { id: 'a1', color: 1 };
          account.self = account; // an ORM-style back reference
          return account;
        },
      },
      Node: { __resolveType: (v: { kind?: string }) => (v.kind === 'user' ? 'User' : undefined) },
    },
  });
}

describe('hostile answers at the GraphQL boundary', () => {
  afterEach(async () => {
    // The host and the base schema still serve after every hostile case (before the fixture closes it).
    assert.deepEqual(await query('{ me { __typename id } }'), { data: { me: { __typename: 'User', id: 'u1' } } });
  });
  const fixture = appFixture();

  const serve = async (configs: Record<string, object>, hostOptions: object = {}) => {
    const files = Object.fromEntries(Object.keys(configs).map((name) => [`${name}.wasm`, 'probe']));
    const extensions = Object.fromEntries(Object.entries(configs).map(([name, config]) => [name, { config }]));
    const app = await fixture.startWith(files, { schema: baseSchema(), extensions, ...hostOptions });
    for (const s of app.host.status()) assert.equal(s.state, 'ready', s.error);
  };
  const query = async (q: string) => (await request(fixture.app.handler).post('/graphql').send({ query: q }).expect(200)).body;
  /** A response's errors by path (fields resolve concurrently: their errors come in any order). */
  const errorsOf = (res: { errors?: ResponseError[] }) =>
    (res.errors ?? []).map((e) => [e.path.join('.'), e.message, e.extensions?.code, e.extensions?.extension]).sort((a, b) => a[0]!.localeCompare(b[0]!));

  it('refuses a __typename that names no possible type, a base type that is not one, a non-string, or none', async () => {
    await serve({
      probe: {
        sdl: `
          type Widget implements Node { id: ID! }
          interface Shape { size: Int }
          type Square implements Shape { size: Int }
          extend type Query { nope: Node notPossible: Node number: [Node] none: Shape fine: [Node] }`,
        answers: {
          'Query.nope': { __typename: 'Nope', id: 'x' },
          'Query.notPossible': { __typename: 'Account', id: 'x' },
          'Query.number': [{ __typename: 'Widget', id: 'w1' }, { __typename: 5, id: 'x' }],
          'Query.none': { size: 1 },
          'Query.fine': [{ __typename: 'Widget', id: 'w1' }, { __typename: 'User', id: 'u2' }],
        },
      },
    });
    const res = await query('{ nope { id } notPossible { id } number { id } none { size } fine { __typename id } }');
    assert.deepEqual(res.data, { nope: null, notPossible: null, number: [{ id: 'w1' }, null], none: null, fine: [{ __typename: 'Probe_Widget', id: 'w1' }, { __typename: 'User', id: 'u2' }] });
    assert.deepEqual(errorsOf(res), [
      ['none', 'an object answered for "Shape" must name its type in "__typename"', 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['nope', '__typename "Nope" is not an object type this extension can answer for "Node"', 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['notPossible', '__typename "Account" is not an object type this extension can answer for "Node"', 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['number.1', '__typename 5 must be a string naming the object\'s type for "Node"', 'EXTENSION_BAD_RESPONSE', 'probe'],
    ]);
  });

  it('does not let an extension answer another extension\'s type it does not use (a forged parent), but does one it uses', async () => {
    await serve({
      probe: {
        sdl: 'type Widget implements Node { id: ID! secret: String related: Node } type Secret implements Node { id: ID! } extend type Query { mine: Node }',
        answers: { 'Query.mine': { __typename: 'Widget', id: 'w1' }, 'Widget.secret': 'for probe\'s own widgets' },
      },
      forger: {
        sdl: 'type Gadget implements Node { id: ID! } extend type Query { forged: Node }',
        answers: { 'Query.forged': { __typename: 'Probe_Widget', id: 'forged' } },
      },
      user: {
        // Its SDL uses probe's type: it composes after probe and may answer it.
        sdl: 'type Holder { widget: Probe_Widget } extend type Query { held: Node holder: Holder }',
        answers: {
          'Query.held': { __typename: 'Probe_Widget', id: 'w1' },
          // Inside probe's object, still its own names: "Secret" is none of its types.
          'Query.holder': { widget: { id: 'w1', related: { __typename: 'Secret', id: 's1' } } },
        },
      },
    });
    const res = await query(`{
      forged { id ... on Probe_Widget { secret } } held { ... on Probe_Widget { secret } } mine { ... on Probe_Widget { secret } }
      holder { widget { id related { id } } }
    }`);
    assert.deepEqual(res.data, {
      forged: null,
      held: { secret: 'for probe\'s own widgets' },
      mine: { secret: 'for probe\'s own widgets' },
      holder: { widget: { id: 'w1', related: null } },
    });
    assert.deepEqual(errorsOf(res), [
      ['forged', '__typename "Probe_Widget" is not an object type this extension can answer for "Node"', 'EXTENSION_BAD_RESPONSE', 'forger'],
      ['holder.widget.related', '__typename "Secret" is not an object type this extension can answer for "Node"', 'EXTENSION_BAD_RESPONSE', 'user'],
    ]);
  });

  it('refuses a list or a string where an object is expected, naming the extension', async () => {
    await serve({
      probe: {
        sdl: 'type Box { name: String } extend type Query { list: Box text: Box color: Color boxes: [Box] }',
        answers: { 'Query.list': ['a', 'b'], 'Query.text': 'abc', 'Query.color': ['RED'], 'Query.boxes': { name: 'x' } },
      },
    });
    const res = await query('{ list { name } text { name } color boxes { name } }');
    assert.deepEqual(res.data, { list: { name: null }, text: { name: null }, color: null, boxes: null });
    assert.deepEqual(errorsOf(res), [
      // graphql-js's own report: an object is no list.
      ['boxes', 'Expected Iterable, but did not find one for field "Query.boxes".', undefined, undefined],
      ['color', 'Color cannot represent the extension\'s value ["RED"]: Enum "Color" cannot represent non-string value: ["RED"].', 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['list.name', 'the answer for "Box" must be an object, not ["a","b"]', 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['text.name', 'the answer for "Box" must be an object, not "abc"', 'EXTENSION_BAD_RESPONSE', 'probe'],
    ]);
  });

  it('sends a refused value back in a parent as the extension wrote it; a scalar that throws a string is named', async () => {
    await serve({
      probe: {
        sdl: 'type Echo { parent: String } type Shade { color: Color strict: Strict echo: Echo } extend type Query { shade: Shade }',
        answers: { 'Query.shade': { color: 'PURPLE', strict: 'nope' } },
      },
    });
    const res = await query('{ shade { color strict echo { parent } } }');
    assert.deepEqual(errorsOf(res), [
      ['shade.color', 'Color cannot represent the extension\'s value "PURPLE": Value "PURPLE" does not exist in "Color" enum.', 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['shade.strict', 'Strict cannot represent the extension\'s value "nope": Strict takes only "ok"', 'EXTENSION_BAD_RESPONSE', 'probe'],
    ]);
    assert.deepEqual(JSON.parse(res.data.shade.echo.parent), { color: 'PURPLE', strict: 'nope' });
  });

  it('reads a deep answer of its own types as far as asked; refuses a base object nested too deeply, and a parent that refers to itself', async () => {
    const depth = 200_000;
    const nested = (key: string, leaf: string) => `${`{"${key}":`.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
    await serve({
      probe: {
        sdl: `enum Tone { DARK } type Echo { parent: String } type Box { inner: Box tone: Tone }
          extend type Query { deep: Box shallow: Box tone: Tone deepAccount: Account } extend type Account { echo: Echo }`,
        answers: { 'Query.shallow': { inner: { tone: 'DARK' } }, 'Query.tone': 'LIGHT' },
        raw: { 'Query.deep': nested('inner', '{"tone":"DARK"}'), 'Query.deepAccount': nested('self', '{"color":"RED"}') },
      },
    }, // 200,000 levels are 200,000 JSON values: above the default request budget, which is not what this test is about.
    { budgets: { maxAnswerValues: 1_000_000, maxAnswerBytes: 16 * 2 ** 20 } });
    const res = await query('{ deep { inner { inner { __typename } } } shallow { inner { tone } } tone deepAccount { id } account { id echo { parent } } }');
    assert.deepEqual(res.data, {
      deep: { inner: { inner: { __typename: 'Probe_Box' } } },
      shallow: { inner: { tone: 'DARK' } },
      tone: null,
      deepAccount: null,
      account: { id: 'a1', echo: null },
    });
    const errors = errorsOf(res).map(([path, message, code, extension]) => [path, (message as string).replace(/ \(.*\)$/, ''), code, extension]);
    assert.deepEqual(errors, [
      ['account.echo', 'the parent Account object cannot be sent to extension "probe": it is nested too deeply or refers to itself', 'EXTENSION_BAD_REQUEST', 'probe'],
      ['deepAccount', 'the answer for "Account" is nested too deeply to read', 'EXTENSION_BAD_RESPONSE', 'probe'],
      // The extension's own names in what it is told.
      ['tone', 'Tone cannot represent the extension\'s value "LIGHT": Value "LIGHT" does not exist in "Probe_Tone" enum.', 'EXTENSION_BAD_RESPONSE', 'probe'],
    ]);
  });

  it('refuses a scalar\'s value nested more than 1,000 levels (SQLite\'s JSON limit) at its position only, the same on every Node line', async () => {
    // The response is written with JSON.stringify, whose depth is the engine's stack: 100,000
    // nested arrays failed the whole request (HTTP 500) on Node 20, 24 and 26 alike.
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    await serve(
      {
        probe: {
          sdl: `scalar Any type Echo { parent: String } type Holder { any: Any echo: Echo }
            extend type Query { deep: Any atLimit: Any list: [Any] holder: Holder holderAtLimit: Holder shallow: Any }`,
          answers: { 'Query.shallow': { a: [1, { b: 2 }] } },
          raw: {
            'Query.deep': nested(100_000),
            'Query.atLimit': nested(1000),
            'Query.list': `[1,${nested(1001)}]`,
            'Query.holder': `{"any":${nested(5000)}}`,
            'Query.holderAtLimit': `{"any":${nested(1000)}}`,
          },
        },
      }, // 100,000 levels are 100,001 JSON values: above the default request budget, which is not what this test is about.
      { budgets: { maxAnswerValues: 1_000_000, maxAnswerBytes: 16 * 2 ** 20 } },
    );
    const res = await query('{ deep atLimit list holder { any echo { parent } } holderAtLimit { echo { parent } } shallow }');
    assert.equal(JSON.stringify(res.data.atLimit), nested(1000));
    // The holder goes back to the extension as it wrote it (the refused value in it too): within the limit only.
    assert.deepEqual(JSON.parse(res.data.holderAtLimit.echo.parent), { any: JSON.parse(nested(1000)) });
    assert.deepEqual(
      { ...res.data, atLimit: undefined, holderAtLimit: undefined },
      { deep: null, atLimit: undefined, list: [1, null], holder: { any: null, echo: null }, holderAtLimit: undefined, shallow: { a: [1, { b: 2 }] } },
    );
    const refused = "Any cannot represent the extension's value: it is nested more than 1000 levels deep";
    assert.deepEqual(errorsOf(res), [
      ['deep', refused, 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['holder.any', refused, 'EXTENSION_BAD_RESPONSE', 'probe'],
      ['holder.echo', "Holder.echo: the parent cannot be sent to the extension: a value in it is nested more than 1000 levels deep (the host's limit for JSON, SQLite's own)", 'EXTENSION_BAD_REQUEST', 'probe'],
      ['list.1', refused, 'EXTENSION_BAD_RESPONSE', 'probe'],
    ]);
  });

  it('refuses a client\'s variable nested more than 1,000 levels for a scalar argument at its field only, the same on every Node line', async () => {
    // Node 20 and 24 could not write 100,000 levels for the extension ("Maximum call stack size
    // exceeded"); Node 26 sent them on.
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    await serve({ probe: { sdl: 'scalar Any type Echo { arguments: String } extend type Query { echo(v: Any): Echo }' } });
    // Written by hand: supertest's JSON.stringify cannot write such a body on every Node line.
    const body = `{"query":"query($a: Probe_Any, $b: Probe_Any, $c: Probe_Any) { atLimit: echo(v: $a) { arguments } beyond: echo(v: $b) { arguments } far: echo(v: $c) { arguments } }",
      "variables":{"a":${nested(1000)},"b":${nested(1001)},"c":${nested(100_000)}}}`;
    const res = (await request(fixture.app.handler).post('/graphql').set('content-type', 'application/json').send(body).expect(200)).body;
    assert.deepEqual(JSON.parse(res.data.atLimit.arguments), { v: JSON.parse(nested(1000)) });
    assert.equal(res.data.beyond, null);
    assert.equal(res.data.far, null);
    const refused = "Query.echo: the arguments cannot be sent to the extension: an argument's value is nested more than 1000 levels deep (the host's limit for JSON, SQLite's own)";
    assert.deepEqual(errorsOf(res), [
      ['beyond', refused, 'EXTENSION_BAD_REQUEST', 'probe'],
      ['far', refused, 'EXTENSION_BAD_REQUEST', 'probe'],
    ]);
  });

  it('keeps an answer\'s "__proto__" key an ordinary property: nothing inherited, nothing polluted', async () => {
    await serve({
      probe: {
        sdl: 'type Widget implements Node { id: ID! secret: String } extend type Query { widget: Widget node: Node }',
        answers: { 'Widget.secret': 'asked' },
        raw: {
          'Query.widget': '{"id":"w1","__proto__":{"secret":"inherited"}}',
          'Query.node': '{"__typename":"Widget","id":"w2","__proto__":{"__typename":"User","secret":"inherited"}}',
        },
      },
    });
    assert.deepEqual(await query('{ widget { id secret } node { __typename id ... on Probe_Widget { secret } } }'), {
      data: { widget: { id: 'w1', secret: 'asked' }, node: { __typename: 'Probe_Widget', id: 'w2', secret: 'asked' } },
    });
    assert.equal(({} as Record<string, unknown>).secret, undefined);
  });
});
