/**
 * What the circuit breaker counts (issue 10, row 4; see lib/runtime/breaker.ts): a call of one
 * field that runs past its deadline is the extension's own failure, so a pure-timeout runaway
 * still switches itself off; timeouts of calls carrying several fields (what clients asked for
 * together) fail those fields and are never counted. Batches are split so one call carries a
 * bounded number of fields.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { loadExtension } from '../lib/index.js';
import { CRASH_LIMIT, MAX_BATCH_FIELDS } from '../lib/runtime/extension.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { RequestBudget } from '../lib/runtime/request-budget.js';
import { appFixture } from './apps.js';
import { fixturePath, rejection, TEST_CACHE_DIR } from './helpers.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; extension?: string } }>;
}

describe('circuit breaker and bounded batches', function () {
  const fixture = appFixture({ 'loop.wasm': 'loop', 'counter.wasm': 'counter' });

  const start = async () => {
    await fixture.start({ isolation: 'worker', extensions: { loop: { limits: { timeoutMs: 300 } } } });
  };
  const post = async (q: string): Promise<Body> => (await request(fixture.app.handler).post('/graphql').send({ query: q }).expect(200)).body as Body;
  const codes = (body: Body) => body.errors?.map((e) => e.extensions?.code);

  it('never opens for timeouts of calls carrying several fields (client-shaped load)', async function () {
    this.timeout(120_000);
    await start();
    for (let i = 0; i < CRASH_LIMIT + 1; i++) {
      const body = await post('{ a: spin b: spin }');
      assert.deepEqual(codes(body), ['EXTENSION_TIMEOUT', 'EXTENSION_TIMEOUT']);
    }
    assert.equal(fixture.app.host.status().find((s) => s.name === 'loop')!.state, 'ready');
    assert.equal(fixture.app.host.extension('loop')!.stats.timeouts, CRASH_LIMIT + 1);
    assert.deepEqual((await post('{ loopOk }')).data, { loopOk: 'fine' });
  });

  it('opens for a runaway that times out on calls of one field, and only for that extension', async function () {
    this.timeout(120_000);
    await start();
    for (let i = 0; i < CRASH_LIMIT; i++) assert.deepEqual(codes(await post('{ spin }')), ['EXTENSION_TIMEOUT']);
    const calls = fixture.app.host.extension('loop')!.stats.calls;
    const refused = await post('{ loopOk }');
    assert.deepEqual(codes(refused), ['EXTENSION_UNAVAILABLE']);
    assert.equal(fixture.app.host.extension('loop')!.stats.calls, calls, 'refused without calling it');
    assert.equal(fixture.app.host.status().find((s) => s.name === 'loop')!.state, 'failed');
    assert.deepEqual((await post('{ counter { n } }')).data, { counter: [{ n: 0 }] }, 'others keep answering');
  });

  it('re-runs each request of a shared call that ran out of time on its own, so a heavy request fails alone', async function () {
    this.timeout(60_000);
    const loaded = await loadExtension(fixturePath('loop'), { dataDir: fixture.dataDir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, limits: { timeoutMs: 300 } });
    try {
      const budget = () => new RequestBudget('loop', { maxResolvedFields: 100, maxAnswerBytes: 1e6, maxAnswerValues: 1e6 });
      // The instance is busy with a first request; a heavy and a light request queue into one call.
      const first = loaded.resolveField({ typeName: 'Query', fieldName: 'spin', budget: budget() });
      await new Promise((r) => setImmediate(r));
      const heavyBudget = budget();
      const heavy = [1, 2].map(() => loaded.resolveField({ typeName: 'Query', fieldName: 'spin', budget: heavyBudget }));
      const light = loaded.resolveField({ typeName: 'Query', fieldName: 'loopOk', budget: budget() });
      assert.equal((await rejection(first)).code, 'EXTENSION_TIMEOUT');
      for (const h of heavy) assert.equal((await rejection(h)).code, 'EXTENSION_TIMEOUT');
      assert.equal(await light, 'fine', 'the light request was run again on its own');
      assert.equal(loaded.stats.calls, 4, 'first, the shared call, then the heavy and the light request again, each alone');
      assert.equal(loaded.state, 'ready');
      // The heavy request's later fields are not sent.
      const later = await rejection(loaded.resolveField({ typeName: 'Query', fieldName: 'loopOk', budget: heavyBudget }));
      assert.equal(later.code, 'EXTENSION_REQUEST_BUDGET');
      assert.match(later.message, /not sent: a call with this request's fields failed/);
      assert.equal(loaded.stats.calls, 4);
    } finally {
      await loaded.close();
    }
  });

  it('does not count a shared call of one-field requests as a one-field failure (many light clients at once)', async function () {
    this.timeout(60_000);
    const loaded = await loadExtension(fixturePath('loop'), { dataDir: fixture.dataDir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, limits: { timeoutMs: 300 } });
    try {
      const budget = () => new RequestBudget('loop', { maxResolvedFields: 100, maxAnswerBytes: 1e6, maxAnswerValues: 1e6 });
      // n requests of one field each, in one call: it runs out of time because of what the
      // clients asked together, which is not counted (the call carried n fields); each request
      // runs again alone, and each of those one-field timeouts counts.
      const round = (n: number) => loaded.resolveBatch(Array.from({ length: n }, () => ({ typeName: 'Query', fieldName: 'spin', budget: budget() })));
      await round(2); // 3 timeouts, 2 counted
      await round(2); // 3 timeouts, 2 counted: 4 in all, under the limit of 5 (6 if the shared calls counted: open)
      assert.equal(loaded.stats.timeouts, 6);
      assert.equal(loaded.state, 'ready');
    } finally {
      await loaded.close();
    }
  });

  it(`splits a batch into calls of at most ${MAX_BATCH_FIELDS} fields; a spent request budget stops its queued fields`, async () => {
    const loaded = await loadExtension(fixturePath('ints'), { dataDir: fixture.dataDir, cacheDir: TEST_CACHE_DIR, logger: silentLogger });
    try {
      const fields = 150;
      const results = await loaded.resolveBatch(Array.from({ length: fields }, () => ({ typeName: 'Query', fieldName: 'one' })));
      assert.ok(results.every((r) => r.status === 'fulfilled' && r.value === 1));
      assert.equal(loaded.stats.calls, Math.ceil(fields / MAX_BATCH_FIELDS));

      // Two answers of ~3.9 MB against a 5 MB budget: the second is refused, and so is every
      // field of that request still queued (never sent).
      const budget = new RequestBudget('ints', { maxResolvedFields: 1000, maxAnswerBytes: 5_000_000, maxAnswerValues: 10_000_000 });
      const before = loaded.stats.calls;
      const settled = await Promise.allSettled(
        Array.from({ length: MAX_BATCH_FIELDS + 10 }, (_, i) => loaded.resolveField({ typeName: 'Query', fieldName: i < 2 ? 'ints' : 'one', budget })),
      );
      assert.equal(settled[0]!.status, 'fulfilled');
      for (const r of settled.slice(1)) {
        assert.equal(r.status, 'rejected');
        assert.equal((r as PromiseRejectedResult).reason.code, 'EXTENSION_REQUEST_BUDGET');
      }
      assert.equal(loaded.stats.calls - before, 1, 'the second call (10 queued fields) was never made');
      const error = await rejection(loaded.resolveField({ typeName: 'Query', fieldName: 'one', budget }));
      assert.match(error.message, /budgets\.maxAnswerBytes/);
      assert.equal(await loaded.resolveField({ typeName: 'Query', fieldName: 'one' }), 1, 'other requests are unaffected');
    } finally {
      await loaded.close();
    }
  });
});
