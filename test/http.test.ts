/**
 * The middleware through real HTTP (supertest), on Express and on Koa: base and extension
 * fields in one query, mutations, nested fields, errors with code and path, context, data kept
 * across a restart, GraphiQL, and the edges of the HTTP layer.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { appFixture, FRAMEWORKS } from './apps.js';

interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: Array<string | number>; locations?: unknown; extensions?: Record<string, unknown> }>;
}

for (const framework of FRAMEWORKS) {
  describe(`HTTP middleware (${framework})`, function () {
    const fixture = appFixture({ 'issues.wasm': 'issues', 'counter.wasm': 'counter', 'probe.wasm': 'probe' }, framework);
    beforeEach(() => fixture.start());

    const post = async (query: string, variables?: object, headers: Record<string, string> = {}): Promise<GraphQLResponse> => {
      const res = await request(fixture.app.handler).post('/graphql').set(headers).send({ query, variables }).expect('content-type', /json/);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as GraphQLResponse;
    };

    it('serves base and extension fields in one query', async () => {
      await post('mutation { createIssue(title: "Leak", repository: "forge") { id } }');
      const res = await post('{ whoami repositories { name stars issues { title status } } counter { n } hello }', undefined, { 'x-user': 'ada' });
      assert.deepEqual(res, {
        data: {
          whoami: 'ada',
          repositories: [
            { name: 'forge', stars: 1200, issues: [{ title: 'Leak', status: 'OPEN' }] },
            { name: 'anvil', stars: 87, issues: [] },
          ],
          counter: [{ n: 0 }],
          hello: 'world',
        },
      });
    });

    it('runs mutations in order and resolves nested fields', async () => {
      const created = await post(
        'mutation($t: String!) { a: createIssue(title: $t) { id } b: createIssue(title: "second") { id } }',
        { t: 'first' },
      );
      const { a, b } = created.data as { a: { id: string }; b: { id: string } };
      assert.deepEqual([a.id, b.id], ['1', '2']);
      await post(`mutation { addComment(issueId: ${a.id}, body: "one") { id } }`);
      await post(`mutation { addComment(issueId: ${a.id}, body: "two") { id } }`);
      await post(`mutation { updateIssueStatus(id: ${b.id}, status: CLOSED) { status } }`);
      const res = await post('{ issues { title status comments { body } } closed: issues(status: CLOSED) { id } issue(id: 1) { title } }');
      assert.deepEqual(res.data, {
        issues: [
          { title: 'first', status: 'OPEN', comments: [{ body: 'one' }, { body: 'two' }] },
          { title: 'second', status: 'CLOSED', comments: [] },
        ],
        closed: [{ id: '2' }],
        issue: { title: 'first' },
      });
    });

    it('reports an extension err at its path with code and extension, and resolves the rest', async () => {
      const res = await post('{ hello fail(message: "no such thing") echo(text: "x") { fieldName } }');
      assert.deepEqual(res.data, { hello: 'world', fail: null, echo: { fieldName: 'echo' } });
      assert.equal(res.errors?.length, 1);
      assert.deepEqual(res.errors![0], {
        message: 'no such thing',
        locations: [{ line: 1, column: 9 }],
        path: ['fail'],
        extensions: { code: 'EXTENSION_ERROR', extension: 'probe' },
      });
    });

    it('rolls a failed mutation back and says so', async () => {
      const res = await post('mutation { bumpThenFail { changes } }');
      assert.equal(res.errors?.[0]?.extensions?.['code'], 'EXTENSION_ERROR');
      assert.deepEqual(res.errors?.[0]?.path, ['bumpThenFail']);
      assert.deepEqual((await post('{ counter { n } }')).data, { counter: [{ n: 0 }] });
    });

    it('leaks no host stack trace or file path to clients', async () => {
      const res = await request(fixture.app.handler).post('/graphql').send({ query: '{ crash hello }' });
      assert.equal(res.body.errors[0].extensions.code, 'EXTENSION_CRASHED');
      assert.equal(res.body.data.hello, 'world');
      const text = JSON.stringify(res.body);
      assert.ok(!/\/(work|tmp|home|usr)\/|\.js:\d+|\bat [A-Za-z.]+ \(/.test(text), `response leaks host details: ${text}`);
    });

    it('passes an extension the context keys it is granted', async () => {
      const res = await post('{ echo { context } }', undefined, { 'x-user': 'grace' });
      assert.deepEqual(JSON.parse((res.data as { echo: { context: string } }).echo.context), { user: 'grace' });
    });

    it('namespaces extension types and keeps extension-added field names', async () => {
      const res = await post('{ issueType: __type(name: "Issues_Issue") { name } plain: __type(name: "Issue") { name } }');
      assert.deepEqual(res.data, { issueType: { name: 'Issues_Issue' }, plain: null });
    });

    it('keeps data across a restart of the host', async () => {
      await post('mutation { createIssue(title: "persisted") { id } bump { changes } }');
      await fixture.app.close();
      await fixture.start();
      assert.deepEqual((await post('{ issues { title } counter { n } }')).data, { issues: [{ title: 'persisted' }], counter: [{ n: 1 }] });
    });

    it('serves GraphiQL to browsers, with its assets from node_modules', async () => {
      const page = await request(fixture.app.handler).get('/graphql').set('accept', 'text/html,application/xhtml+xml').expect(200);
      assert.match(page.text, /<script src="\/graphql\/__graphiql\/graphiql.js"><\/script>/);
      assert.match(page.text, /createFetcher\(\{ url: "\/graphql" \}\)/);
      const js = await request(fixture.app.handler).get('/graphql/__graphiql/graphiql.js').expect(200).expect('content-type', /javascript/);
      assert.ok(js.text.length > 100_000 || (js.body as Buffer).length > 100_000);
    });

    it('does not serve GraphiQL when disabled', async () => {
      await fixture.app.close();
      await fixture.start({ graphiql: false });
      const res = await request(fixture.app.handler).get('/graphql').set('accept', 'text/html');
      assert.notEqual(res.status, 200);
      await request(fixture.app.handler).get('/graphql/__graphiql/graphiql.js').expect(404);
    });

    it('answers GET queries and refuses mutations over GET', async () => {
      const res = await request(fixture.app.handler).get('/graphql').query({ query: '{ hello }' }).set('accept', 'application/json').expect(200);
      assert.deepEqual(res.body, { data: { hello: 'world' } });
      await request(fixture.app.handler).get('/graphql').query({ query: 'mutation { bump { changes } }' }).set('accept', 'application/json').expect(405);
    });

    it('refuses a body over maxBodyBytes with 413', async () => {
      const res = await request(fixture.app.handler).post('/graphql').set('content-type', 'application/json').send(JSON.stringify({ query: `{ hello } # ${'x'.repeat(1_100_000)}` }));
      assert.equal(res.status, 413);
    });

    it('leaves other paths to the next middleware', async () => {
      await request(fixture.app.handler).get('/elsewhere').expect(404);
      await request(fixture.app.handler).get('/graphql/unknown').expect(404);
    });
  });
}
