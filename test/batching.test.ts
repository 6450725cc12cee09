/**
 * Batching: the fields GraphQL asks an extension for in one pass cost one wasm call, so the
 * N+1 shape `{ issues(first: 50) { comments { body } } }` costs a constant number of calls,
 * whatever the list size.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { appFixture, type TestApp } from './apps.js';

describe('batching', () => {
  const fixture = appFixture({ 'issues.wasm': 'issues' });
  beforeEach(() => fixture.start());

  const query = async (q: string) => {
    const res = await request(fixture.app.handler).post('/graphql').send({ query: q }).expect(200);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    return res.body.data as Record<string, unknown>;
  };
  /** wasm calls the issues extension made while `fn` ran. */
  const callsDuring = async (fn: () => Promise<unknown>) => {
    const stats = () => {
      const s = fixture.app.host.status().find((x) => x.name === 'issues');
      assert.equal(s?.state, 'ready');
      return issuesExtension(fixture.app).stats.calls;
    };
    const before = stats();
    await fn();
    return stats() - before;
  };

  it('resolves a nested list with a constant number of wasm calls, not one per item', async () => {
    const counts: number[] = [];
    for (const size of [5, 50]) {
      const mutation = Array.from({ length: size }, (_, i) => `i${i}: createIssue(title: "issue ${i}") { id }`).join(' ');
      await query(`mutation { ${mutation} }`);
      const data = await query(`{ issues(first: ${size}) { id comments { body } } }`);
      assert.equal((data['issues'] as unknown[]).length, size);
      counts.push(await callsDuring(() => query(`{ issues(first: ${size}) { id comments { body } } }`)));
    }
    assert.deepEqual(counts, [2, 2], 'one call for the list, one batch for all the comments');
  });

  it('batches the fields of concurrent requests too', async () => {
    await query('mutation { createIssue(title: "x") { id } }');
    const calls = await callsDuring(() =>
      Promise.all(Array.from({ length: 20 }, () => request(fixture.app.handler).post('/graphql').send({ query: '{ issue(id: 1) { title } }' }).expect(200))),
    );
    assert.ok(calls < 20, `20 concurrent requests cost ${calls} calls`);
  });
});

/** The running `issues` extension behind the host's current schema. */
function issuesExtension(app: TestApp) {
  const ext = app.host.extension('issues');
  assert.ok(ext, 'issues is serving');
  return ext;
}
