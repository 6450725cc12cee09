/**
 * Attacks on the recent issue 10 work (document limits, answer budgets inside the instance):
 * each test is an input a client can send and what a demanding user expects of it. They fail
 * until the fault they show is fixed.
 */
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import { createApp, defaultOptions, type TestApp } from './apps.js';
import { extensionsDir, tempDir } from './helpers.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

describe('issue 10 attacks: a refused Mutation answer and its transaction', () => {
  let ext: { dir: string; cleanup: () => void };
  let data: { dir: string; cleanup: () => void } | undefined;
  let app: TestApp | undefined;
  before(() => (ext = extensionsDir({ 'counter.wasm': 'counter' })));
  after(() => ext.cleanup());
  afterEach(async () => {
    await app?.close();
    app = undefined;
    data?.cleanup();
    data = undefined;
  });

  const start = async (options: Partial<ForgeOptions>) => {
    data ??= tempDir();
    app = createApp('express', ext.dir, { ...defaultOptions(data.dir), ...options });
    await app.host.ready();
    assert.deepEqual(app.host.status().map((s) => s.state), ['ready']);
  };
  const post = async (query: string): Promise<Body> => (await request(app!.handler).post('/graphql').set('accept', 'application/json').send({ query })).body as Body;
  const counter = async () => {
    const body = await post('{ counter { n } }');
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return (body.data!['counter'] as Array<{ n: number }>)[0]!.n;
  };

  // bump answers {"changes":1,"lastInsertRowid":...} (~35 bytes, 3 JSON values). A budget that
  // refuses that answer must not leave the write committed while the client is told the field
  // failed: "Run in a write transaction: committed only if the answer is ok" (extension.ts).
  const cases = [
    { isolation: 'process', budgets: { maxAnswerBytes: 8 }, where: 'refused by the instance (maxAnswerBytes)' },
    { isolation: 'inline', budgets: { maxAnswerBytes: 8 }, where: 'refused by the instance (maxAnswerBytes)' },
    { isolation: 'process', budgets: { maxAnswerValues: 1 }, where: 'refused by the host (maxAnswerValues)' },
  ] as const;
  for (const { isolation, budgets, where } of cases) {
    it(`${isolation}: a Mutation whose answer is ${where} is not committed`, async () => {
      await start({ isolation, budgets });
      const body = await post('mutation { bump { changes } }');
      assert.equal(body.errors?.length, 1, JSON.stringify(body));
      assert.equal(body.errors![0]!.extensions?.['code'], 'EXTENSION_REQUEST_BUDGET');
      // The server keeps answering.
      assert.deepEqual((await post('{ hello }')).data, { hello: 'world' });
      // Read the same database again without the budget (the tiny one refuses the read too).
      await app!.close();
      await start({ isolation });
      // The client was told the mutation failed: the increment must not stand.
      assert.equal(await counter(), 0, 'the write of a Mutation the client was told failed was committed');
    });
  }
});

describe('issue 10 attacks: what one client can make the host keep', () => {
  let ext: { dir: string; cleanup: () => void };
  let data: { dir: string; cleanup: () => void };
  let app: TestApp | undefined;
  before(() => {
    ext = extensionsDir({ 'ints.wasm': 'ints' });
    data = tempDir();
  });
  after(async () => {
    await app?.close();
    ext.cleanup();
    data.cleanup();
  });

  it('distinct operationName values of one cached document are not kept (memory stays bounded)', async () => {
    app = createApp('express', ext.dir, { ...defaultOptions(data.dir), isolation: 'inline' });
    await app.host.ready();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const query = '{ one }'; // a document every client sends: parsed once, kept in the document cache
    const send = (operationName: string) => request(app!.handler).post('/graphql').set('accept', 'application/json').send({ query, operationName });
    await send('warm');
    const before = heap();
    // 40 requests of ~0.9 MB (under maxBodyBytes), each naming an operation the document lacks.
    for (let i = 0; i < 40; i++) {
      const res = await send(`${i}_${'x'.repeat(900_000)}`);
      assert.equal(res.status, 200);
      assert.match((res.body as Body).errors?.[0]?.message ?? '', /Unknown operation named|Unable to detect operation AST/);
    }
    const grownMb = (heap() - before) / 2 ** 20;
    // Observed: ~34 MiB kept (the static budget counts, cached per document and operation name).
    assert.ok(grownMb < 12, `the heap grew by ${grownMb.toFixed(1)} MiB after 40 requests with distinct 0.9 MB operation names`);
    assert.deepEqual((await request(app.handler).post('/graphql').set('accept', 'application/json').send({ query })).body, { data: { one: 1 } });
  });
});
