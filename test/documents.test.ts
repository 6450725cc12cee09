/**
 * Document limits through real HTTP (issue 10: nothing a client sends may block the event loop
 * before a budget applies). A query over `maxDocumentBytes` or `maxDocumentTokens` is refused
 * with `DOCUMENT_TOO_LARGE` before anything runs for it (no context, no extension call); one
 * at the limit is served; other clients are answered meanwhile.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import { appFixture, createApp, defaultOptions } from './apps.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** `{ a0: __typename a1: __typename ... }`: 3 tokens per alias, plus the two braces. */
const aliases = (count: number, field = '__typename') => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

describe('document limits', function () {
  const fixture = appFixture({ 'ints.wasm': 'ints' });
  let contexts = 0;
  beforeEach(() => (contexts = 0));

  const start = async (options: Partial<ForgeOptions> = {}) => {
    const context = defaultOptions(fixture.dataDir).context!;
    const app = await fixture.start({
      context: (req) => {
        contexts++;
        return context(req);
      },
      ...options,
    });
    assert.deepEqual(app.host.status().map((s) => s.state), ['ready']);
    return app;
  };
  const post = async (query: string, accept = 'application/json'): Promise<{ status: number; body: Body }> => {
    const res = await request(fixture.app.handler).post('/graphql').set('accept', accept).send({ query });
    return { status: res.status, body: res.body as Body };
  };
  const fields = () => fixture.app.host.extension('ints')!.stats.fields;
  const assertTooLarge = (body: Body, option: string, limit: number) => {
    assert.equal(body.data, undefined, 'refused before execution: no data');
    assert.equal(body.errors?.length, 1, JSON.stringify(body.errors));
    assert.deepEqual(body.errors![0]!.extensions, { code: 'DOCUMENT_TOO_LARGE', option, limit });
    assert.match(body.errors![0]!.message, new RegExp(`\\(${option}\\); send a smaller query`));
  };

  it('refuses a ~400 KB query before parsing it while other clients are answered, and runs nothing for it', async () => {
    await start();
    const huge = aliases(40_000, 'one'); // ~458 KB, under maxBodyBytes (1 MiB): 40,000 extension fields
    assert.ok(huge.length > 400_000 && huge.length < 1024 * 1024);
    const fieldsBefore = fields();
    const heavy = Array.from({ length: 4 }, () => post(huge));
    const small = Array.from({ length: 4 }, () => post('{ whoami one }'));
    for (const { status, body } of await Promise.all(heavy)) {
      assert.equal(status, 200); // application/json: errors in a 200, as graphql-http answers a syntax error
      assertTooLarge(body, 'maxDocumentBytes', 65536);
    }
    for (const { body } of await Promise.all(small)) assert.deepEqual(body, { data: { whoami: 'anonymous', one: 1 } });
    assert.equal(contexts, 4, 'the context was built for the small requests only');
    assert.equal(fields() - fieldsBefore, 4, "the extension resolved the small requests' fields only");
    // GraphQL over HTTP: with application/graphql-response+json a refused document is a 400.
    const strict = await post(huge, 'application/graphql-response+json');
    assert.equal(strict.status, 400);
    assertTooLarge(strict.body, 'maxDocumentBytes', 65536);
    assert.deepEqual((await post('{ one }')).body, { data: { one: 1 } });
  });

  it('serves a document of exactly maxDocumentTokens tokens (comments, commas and whitespace are not tokens) and refuses one more', async () => {
    await start();
    const limit = aliases(332).replace('{', '{ __typename, one,'); // 2 + 2 + 332 x 3 = 1,000 tokens
    const served = await post(`# ${'a comment is not a token '.repeat(200)}\n${limit}\n# and neither is this one`);
    assert.equal(served.body.errors, undefined, JSON.stringify(served.body.errors?.[0]));
    assert.equal(Object.keys(served.body.data!).length, 334);
    assert.deepEqual([served.body.data!['one'], served.body.data!['a331']], [1, 'Query']);
    const over = await post(limit.replace(/ }$/, ' two: one }')); // 1,003 tokens
    assertTooLarge(over.body, 'maxDocumentTokens', 1000);
    const justOver = await post(limit.replace(/ }$/, ' __typename }')); // 1,001 tokens
    assertTooLarge(justOver.body, 'maxDocumentTokens', 1000);
    // The row 4 input of issue 10 (100 aliases of a list field: 1,302 tokens) is refused by default.
    const row4 = aliases(100, 'issues(first: 500) { id title body }');
    assertTooLarge((await post(row4)).body, 'maxDocumentTokens', 1000);
    // A syntax error within the limit stays the syntax error it is.
    const broken = await post('{ one ');
    assert.equal(broken.body.errors?.length, 1);
    assert.match(broken.body.errors![0]!.message, /^Syntax Error: Expected Name, found <EOF>/);
    assert.equal(broken.body.errors![0]!.extensions, undefined);
    assert.equal(contexts, 1, 'only the served document got a context');
  });

  it('applies the limits the application sets, counting bytes in UTF-8, for GET as for POST', async () => {
    await start({ maxDocumentBytes: 40, maxDocumentTokens: 8 });
    // 8 tokens: { a: one b: one } ; 40 bytes with the comment's two-byte letters.
    const eight = '{ a: one b: one }';
    const padded = (n: number) => `${eight} #${'é'.repeat(n)}`;
    assert.equal(Buffer.byteLength(padded(10)), 39);
    assert.deepEqual((await post(padded(10))).body, { data: { a: 1, b: 1 } });
    assertTooLarge((await post(padded(11))).body, 'maxDocumentBytes', 40); // 41 bytes, 30 characters
    assertTooLarge((await post('{ a: one b: one c }')).body, 'maxDocumentTokens', 8);
    const get = await request(fixture.app.handler).get('/graphql').query({ query: '{ a: one b: one c: one }' }).set('accept', 'application/json');
    assertTooLarge(get.body as Body, 'maxDocumentTokens', 8);
    const getServed = await request(fixture.app.handler).get('/graphql').query({ query: eight }).set('accept', 'application/json');
    assert.deepEqual(getServed.body, { data: { a: 1, b: 1 } });
  });

  it('rejects a wrong document limit with a TypeError naming it', () => {
    const options = (extra: object) => ({ ...defaultOptions(fixture.dataDir), ...extra }) as ForgeOptions;
    assert.throws(() => createApp('express', fixture.extensionsDir, options({ maxDocumentTokens: 0 })), /options\.maxDocumentTokens must be a positive integer/);
    assert.throws(() => createApp('express', fixture.extensionsDir, options({ maxDocumentBytes: 1.5 })), /options\.maxDocumentBytes must be a positive integer/);
    assert.throws(() => createApp('express', fixture.extensionsDir, options({ maxTokens: 10 })), /unknown option "maxTokens"/);
  });
});
