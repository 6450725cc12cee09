/**
 * What a browser meets at the endpoint (issue 13, item 8): with GraphiQL off (NODE_ENV=production)
 * a short HTML page saying so and how to query, not an empty 406; no page makes the browser ask
 * the site root for /favicon.ico. And every option error carries the `forge-extensions:` prefix.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { forgeExtensions } from '../lib/index.js';
import { createApp, defaultOptions, FRAMEWORKS, type TestApp } from './apps.js';
import { extensionsDir, tempDir } from './helpers.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

for (const framework of FRAMEWORKS) {
  describe(`browser pages (${framework})`, () => {
    let app: TestApp | undefined;
    const dirs: Array<{ cleanup: () => void }> = [];
    const start = async (env: string | undefined, graphiql?: boolean) => {
      const ext = extensionsDir({ 'counter.wasm': 'counter' });
      const data = tempDir();
      dirs.push(ext, data);
      const saved = process.env['NODE_ENV'];
      if (env === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = env;
      try {
        const { extensions: _, ...options } = defaultOptions(data.dir);
        app = createApp(framework, ext.dir, graphiql === undefined ? options : { ...options, graphiql });
      } finally {
        process.env['NODE_ENV'] = saved;
      }
      await app.host.ready();
      return app;
    };
    afterEach(async () => {
      await app?.close();
      app = undefined;
      for (const d of dirs.splice(0)) d.cleanup();
    });

    it('NODE_ENV=production: a browser GET gets a page saying GraphiQL is off and how to query', async () => {
      const { handler } = await start('production');
      const res = await request(handler).get('/graphql').set('accept', BROWSER_ACCEPT);
      assert.equal(res.status, 406);
      assert.match(res.headers['content-type'] ?? '', /^text\/html/);
      assert.match(res.text, /GraphiQL is off/);
      assert.match(res.text, /curl -X POST -H 'content-type: application\/json'[\s\S]*\/graphql<\/pre>/);
      assert.match(res.text, /GET \/graphql\?query=/);
      assert.match(res.text, /<link rel="icon" href="data:,">/);
      // The API itself still answers.
      const post = await request(handler).post('/graphql').set('content-type', 'application/json').send({ query: '{ counter { n } }' });
      assert.deepEqual(post.body, { data: { counter: [{ n: 0 }] } });
    });

    it('graphiql: false says the same; the GraphiQL page needs nothing outside the endpoint (no /favicon.ico)', async () => {
      const off = await start(undefined, false);
      assert.match((await request(off.handler).get('/graphql').set('accept', BROWSER_ACCEPT).expect(406)).text, /GraphiQL is off/);
      await off.close();
      const { handler } = await start('development');
      const page = await request(handler).get('/graphql').set('accept', BROWSER_ACCEPT).expect(200);
      assert.match(page.text, /<link rel="icon" href="data:,">/);
      const urls = [...page.text.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
      assert.ok(urls.length >= 4, page.text);
      for (const url of urls) assert.ok(url.startsWith('/graphql/__graphiql/') || url.startsWith('data:'), `${url} is outside the endpoint`);
    });
  });
}

describe('option errors', () => {
  it('every option error names itself with the forge-extensions: prefix', () => {
    const bad: Array<[object, RegExp]> = [
      [{ limits: { timeoutMs: -5 } }, /^forge-extensions: options\.limits\.timeoutMs must be a positive number, not -5$/],
      [{ limits: { speed: 1 } }, /^forge-extensions: options\.limits\.speed is not a known limit/],
      [{ extensions: { notes: { limits: { memoryMb: 0 } } } }, /^forge-extensions: options\.extensions\.notes\.limits\.memoryMb must be a positive number, not 0$/],
      [{ workers: 0 }, /^forge-extensions: options\.workers must be/],
      [{ isolation: 'thread' }, /^forge-extensions: options\.isolation/],
      [{ namespace: 'flat' }, /^forge-extensions: options\.namespace/],
      [{ watch: 'yes' }, /^forge-extensions: options\.watch must be a boolean$/],
      [{ graphiql: 1 }, /^forge-extensions: options\.graphiql must be a boolean$/],
      [{ maxBodyBytes: -1 }, /^forge-extensions: options\.maxBodyBytes must be a positive integer$/],
      [{ dataDir: '' }, /^forge-extensions: options\.dataDir must be a non-empty path$/],
      [{ logger: {} }, /^forge-extensions: options\.logger must have/],
      [{ bogus: true }, /^forge-extensions: unknown option "bogus"/],
      [{ extensions: { Bad: {} } }, /^forge-extensions: options\.extensions\.Bad: /],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => forgeExtensions('./nowhere', options as never), (e: Error) => e instanceof TypeError && message.test(e.message), JSON.stringify(options));
    }
  });
});
