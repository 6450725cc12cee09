/**
 * Context per extension (issue 10, row 7), through real HTTP and real guests that echo the
 * context they receive: the application puts `authorization` in its context; a request touches
 * two extensions; the one not granted the key never sees it.
 */
import assert from 'node:assert/strict';
import { makeExecutableSchema } from '@graphql-tools/schema';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { appFixture, createApp, defaultOptions } from './apps.js';

/** The probe fixture again, under another name: its `echo` on `Repository` instead of `Query`. */
const SPY_SDL = 'type Echo { typeName: String! fieldName: String! arguments: String! parent: String context: String! } extend type Repository { echo: Echo! }';

describe('context per extension', function () {
  const fixture = appFixture({ 'probe.wasm': 'probe', 'spy.wasm': 'probe' });

  /** What the host logged at `error` level. */
  let logged: string[] = [];
  const start = async (extensions: ForgeOptions['extensions'], more: Partial<ForgeOptions> = {}) => {
    logged = [];
    const app = await fixture.start({
      logger: { ...silentLogger, error: (obj: unknown, msg?: string) => void logged.push(`${msg ?? ''} ${JSON.stringify(obj, (_k, v) => (v instanceof Error ? v.message : v))}`) },
      context: (req) => ({ user: String(req.headers['x-user'] ?? 'anonymous'), authorization: req.headers.authorization ?? null, quota: 10n }),
      ...more,
      extensions: { ...extensions, spy: { config: { sdl: SPY_SDL }, ...extensions?.['spy'] } },
    });
    assert.ok(app.host.status().every((s) => s.state === 'ready'), JSON.stringify(app.host.status()));
  };
  /** The contexts probe and spy received for one request. */
  const contexts = async (headers: Record<string, string>) => {
    const res = await request(fixture.app.handler).post('/graphql').set(headers).send({ query: '{ echo { context } repositories { name echo { context } } }' }).expect(200);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const repositories = res.body.data.repositories as Array<{ echo: { context: string } }>;
    return { probe: JSON.parse(res.body.data.echo.context), spy: repositories.map((r) => JSON.parse(r.echo.context)) };
  };

  it('gives an extension only the keys it is granted; one granted nothing receives {}', async () => {
    await start({ probe: { context: ['user', 'authorization'] } });
    const seen = await contexts({ 'x-user': 'ada', authorization: 'Bearer secret-token' });
    assert.deepEqual(seen.probe, { user: 'ada', authorization: 'Bearer secret-token' });
    assert.deepEqual(seen.spy, [{}, {}], 'not granted: nothing, by default');
  });

  it('keeps a credential from the extension granted other keys, and takes a function', async () => {
    await start({ probe: { context: (ctx) => ({ user: ctx['user'], signedIn: ctx['authorization'] !== null }) }, spy: { context: ['user', 'missing'] } });
    const seen = await contexts({ 'x-user': 'grace', authorization: 'Bearer secret-token' });
    assert.deepEqual(seen.probe, { user: 'grace', signedIn: true });
    assert.deepEqual(seen.spy, [{ user: 'grace' }, { user: 'grace' }]);
    // A later anonymous request: nothing of the token anywhere.
    const later = await contexts({});
    assert.ok(!JSON.stringify(later).includes('secret-token'));
    assert.deepEqual(later.spy, [{ user: 'anonymous' }, { user: 'anonymous' }]);
  });

  // The application's grant failing is its own fault: the extension is not called, the client
  // learns only the code (no message of the application's exception), the log has the details,
  // and everything else in the request and later requests is served.
  for (const [what, grant] of [
    ['a grant function that throws', () => { throw new Error('vault password hunter2 rejected'); }],
    ['a grant function that returns null', () => null],
    ['a grant function that returns a promise', async () => ({ user: 'x' })],
    ['a grant function that returns a cycle', (ctx: Record<string, unknown>) => { const o: Record<string, unknown> = { user: ctx['user'] }; o['self'] = o; return o; }],
    ['a granted key whose value is not JSON (a BigInt)', ['user', 'quota']],
  ] as Array<[string, NonNullable<ForgeOptions['extensions']>[string]['context']]>) {
    it(`answers EXTENSION_CONTEXT for ${what}, without calling the extension`, async () => {
      await start({ probe: { context: grant } });
      const probe = fixture.app.host.extension('probe')!;
      for (let i = 0; i < 2; i++) {
        const res = await request(fixture.app.handler).post('/graphql').send({ query: '{ a: big(bytes: 1) b: big(bytes: 2) whoami repositories { echo { context } } }' }).expect(200);
        assert.equal(res.body.data.whoami, 'anonymous');
        assert.deepEqual(res.body.data.repositories.map((r: { echo: { context: string } }) => r.echo.context), ['{}', '{}'], 'spy is granted nothing and unaffected');
        assert.equal(res.body.data.a, null);
        assert.deepEqual(res.body.errors.map((e: { path: string[]; extensions: unknown }) => [e.path, e.extensions]), [
          [['a'], { code: 'EXTENSION_CONTEXT', extension: 'probe' }],
          [['b'], { code: 'EXTENSION_CONTEXT', extension: 'probe' }],
        ]);
        assert.ok(!JSON.stringify(res.body).includes('hunter2'), 'the exception of the application stays on the server');
      }
      assert.equal(probe.stats.calls, 0, 'the extension was never called');
      assert.equal(logged.length, 2, `logged once per request: ${logged.join('\n')}`);
      assert.match(logged[0]!, /extensions\.probe\.context failed/);
      if (what.includes('throws')) assert.match(logged[0]!, /hunter2/);
      assert.equal(probe.state, 'ready');
    });
  }

  it('sends an extension on an application type only the parent fields its schema shows', async () => {
    // The base resolver's objects carry more than `Repository` shows: a token, the request
    // context, and a nested owner with a hash of its own.
    const owner = { login: 'ada', passwordHash: 'secret-hash' };
    const repository = { id: '1', name: 'forge', tags: ['a'], ownerToken: 'sk_live_secret', owner };
    const schema = makeExecutableSchema({
      typeDefs: 'type User { login: String! } type Repository { id: ID! name: String! owner: User! tags: [String!]! } type Query { repositories: [Repository!]! whoami: String! }',
      resolvers: {
        Query: {
          repositories: (_: unknown, __: unknown, ctx: Record<string, unknown>) => [{ ...repository, viewer: ctx }],
          whoami: () => 'x',
        },
      },
    });
    await start({}, { schema, context: (req) => ({ authorization: req.headers.authorization ?? null }) });
    const res = await request(fixture.app.handler).post('/graphql').set('authorization', 'Bearer secret-token').send({ query: '{ repositories { name echo { parent context } } }' }).expect(200);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const echo = res.body.data.repositories[0].echo;
    assert.deepEqual(JSON.parse(echo.parent), { id: '1', name: 'forge', owner: { login: 'ada' }, tags: ['a'] });
    assert.equal(echo.context, '{}');
    assert.ok(!JSON.stringify(res.body).includes('secret'));
    // The application changes its object between requests: the next request sees the change.
    owner.login = 'grace';
    const next = await request(fixture.app.handler).post('/graphql').send({ query: '{ repositories { echo { parent } } }' }).expect(200);
    assert.deepEqual(JSON.parse(next.body.data.repositories[0].echo.parent).owner, { login: 'grace' });
  });

  it('grants afresh for each request, even when the application reuses its context object', async () => {
    const shared: Record<string, unknown> = {};
    await start({ probe: { context: ['user'] }, spy: { context: (ctx) => ({ user: ctx['user'] }) } }, {
      context: (req) => Object.assign(shared, { user: String(req.headers['x-user'] ?? 'anonymous') }),
    });
    assert.deepEqual((await contexts({ 'x-user': 'ada' })).probe, { user: 'ada' });
    const later = await contexts({ 'x-user': 'grace' });
    assert.deepEqual(later.probe, { user: 'grace' });
    assert.deepEqual(later.spy, [{ user: 'grace' }, { user: 'grace' }]);
  });

  it('rejects a context grant that is neither a key list nor a function', () => {
    assert.throws(
      () => createApp('express', fixture.extensionsDir, { ...defaultOptions(fixture.dataDir), extensions: { probe: { context: 'authorization' as never } } }),
      /options\.extensions\.probe\.context must be a list of context keys \(string\[\]\) or a function/,
    );
  });
});
