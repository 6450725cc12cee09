/**
 * Context per extension (issue 10, row 7), through real HTTP and real guests that echo the
 * context they receive: the application puts `authorization` in its context; a request touches
 * two extensions; the one not granted the key never sees it.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import { createApp, defaultOptions, type TestApp } from './apps.js';
import { extensionsDir, tempDir } from './helpers.js';

/** The probe fixture again, under another name: its `echo` on `Repository` instead of `Query`. */
const SPY_SDL = 'type Echo { typeName: String! fieldName: String! arguments: String! parent: String context: String! } extend type Repository { echo: Echo! }';

describe('context per extension', function () {
  let ext: { dir: string; cleanup: () => void };
  let data: { dir: string; cleanup: () => void };
  let app: TestApp | undefined;
  before(() => (ext = extensionsDir({ 'probe.wasm': 'probe', 'spy.wasm': 'probe' })));
  after(() => ext.cleanup());
  beforeEach(() => (data = tempDir()));
  afterEach(async () => {
    await app?.close();
    app = undefined;
    data.cleanup();
  });

  const start = async (extensions: ForgeOptions['extensions']) => {
    app = createApp('express', ext.dir, {
      ...defaultOptions(data.dir),
      context: (req) => ({ user: String(req.headers['x-user'] ?? 'anonymous'), authorization: req.headers.authorization ?? null }),
      extensions: { ...extensions, spy: { config: { sdl: SPY_SDL }, ...extensions?.['spy'] } },
    });
    await app.host.ready();
    assert.ok(app.host.status().every((s) => s.state === 'ready'), JSON.stringify(app.host.status()));
  };
  /** The contexts probe and spy received for one request. */
  const contexts = async (headers: Record<string, string>) => {
    const res = await request(app!.handler).post('/graphql').set(headers).send({ query: '{ echo { context } repositories { name echo { context } } }' }).expect(200);
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

  it('rejects a context grant that is neither a key list nor a function', () => {
    assert.throws(
      () => createApp('express', ext.dir, { ...defaultOptions(data.dir), extensions: { probe: { context: 'authorization' as never } } }),
      /options\.extensions\.probe\.context must be a list of context keys \(string\[\]\) or a function/,
    );
  });
});
