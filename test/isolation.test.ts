/**
 * Isolation and limits against hostile extensions, through real HTTP: a runaway loop is
 * stopped at its deadline while everything else keeps answering; a memory bomb hits its cap,
 * not the process; a crash loop trips the circuit breaker; oversized answers and requests are
 * refused; stderr floods are capped.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import { appFixture } from './apps.js';
import { recordingLogger } from './helpers.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string; extension?: string } }>;
}

for (const isolation of ['process', 'worker'] as const)
describe(`isolation and limits (${isolation})`, function () {
  const fixture = appFixture({
    'loop.wasm': 'loop',
    'counter.wasm': 'counter',
    'bomb.wasm': 'memory-bomb',
    'trap.wasm': 'trap',
    'big.wasm': 'big',
    'probe.wasm': 'probe',
    'escape.wasm': 'escape',
  });

  const start = async (options: Partial<ForgeOptions> = {}) => {
    const app = await fixture.start({ isolation, ...options });
    assert.ok(app.host.status().every((s) => s.state === 'ready'), JSON.stringify(app.host.status()));
    return app;
  };
  const query = async (q: string): Promise<Body> => (await request(fixture.app.handler).post('/graphql').send({ query: q }).expect(200)).body as Body;

  it('stops an infinite loop at the deadline; others keep answering meanwhile; the next call gets a fresh instance', async () => {
    const timeoutMs = 400;
    await start({ extensions: { loop: { limits: { timeoutMs } }, issues: {} } });
    const began = performance.now();
    let loopEnded = 0;
    const spinning = query('{ spin }').then((body) => ((loopEnded = performance.now()), body));

    // While the loop runs: another extension and the base schema answer, before it ends.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const meanwhile = await query('{ hello repositories { name } }');
    const answeredAt = performance.now();
    assert.deepEqual(meanwhile.data, { hello: 'world', repositories: [{ name: 'forge' }, { name: 'anvil' }] });
    assert.equal(loopEnded, 0, 'the other request was answered while the loop was still running');

    const spun = await spinning;
    assert.ok(answeredAt < loopEnded);
    assert.deepEqual(spun.data, { spin: null });
    assert.equal(spun.errors?.[0]?.extensions?.code, 'EXTENSION_TIMEOUT');
    assert.equal(spun.errors?.[0]?.extensions?.extension, 'loop');
    assert.match(spun.errors![0]!.message, /ran longer than 400 ms \(limits.timeoutMs\)/);
    const elapsed = loopEnded - began;
    assert.ok(elapsed >= timeoutMs && elapsed < timeoutMs + 2000, `ended after ${elapsed.toFixed(0)} ms`);

    assert.deepEqual((await query('{ loopOk }')).data, { loopOk: 'fine' }, 'a fresh process or worker answers');
  });

  it('runs calls to one extension in parallel on several instances (workers: 2)', async () => {
    // The second instance starts on first need (a process takes a while on a loaded machine):
    // the spin's deadline leaves it time.
    await start({ extensions: { loop: { limits: { timeoutMs: 8000 }, workers: 2 } } });
    let spinEnded = false;
    const spinning = query('{ spin }').then((body) => ((spinEnded = true), body));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual((await query('{ loopOk }')).data, { loopOk: 'fine' }, 'the second instance answers while the first spins');
    assert.equal(spinEnded, false);
    assert.equal((await spinning).errors?.[0]?.extensions?.code, 'EXTENSION_TIMEOUT');
  });

  it('caps a memory bomb: EXTENSION_MEMORY_LIMIT, RSS bounded, the server keeps serving', async () => {
    // These tests are about memory, not deadlines: a loaded machine gets time to hit the cap.
    await start({ extensions: { bomb: { limits: { memoryMb: 64, timeoutMs: 15_000 } } } });
    const rssBefore = process.memoryUsage().rss;
    const body = await query('{ bomb }');
    const grew = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.equal(body.errors?.[0]?.extensions?.code, 'EXTENSION_MEMORY_LIMIT', JSON.stringify(body));
    assert.match(body.errors![0]!.message, /out of memory at the limit of 64 MiB/);
    assert.ok(grew < 256, `RSS grew by ${grew.toFixed(0)} MiB`);
    assert.deepEqual((await query('{ bombOk hello }')).data, { bombOk: 'fine', hello: 'world' });
  });

  it('reports a JavaScript guest that runs out of memory as EXTENSION_MEMORY_LIMIT', async () => {
    await start({ maxBodyBytes: 4 * 2 ** 20, limits: { timeoutMs: 15_000 } });
    const body = await query('{ big(bytes: 80000000) }');
    assert.equal(body.errors?.[0]?.extensions?.code, 'EXTENSION_MEMORY_LIMIT', JSON.stringify(body));
    assert.equal((await query('{ echo { fieldName } }')).data?.['echo'] !== undefined, true);
  });

  it('turns a crash loop into EXTENSION_CRASHED, then EXTENSION_UNAVAILABLE, visible in status()', async () => {
    await start();
    const codes: string[] = [];
    for (const field of ['boom', 'oob', 'deep', 'boom', 'boom']) {
      const body = await query(`{ ${field} }`);
      codes.push(body.errors![0]!.extensions!.code!);
    }
    assert.deepEqual(codes, Array(5).fill('EXTENSION_CRASHED'));
    const began = performance.now();
    const refused = await query('{ trapOk }');
    assert.equal(refused.errors?.[0]?.extensions?.code, 'EXTENSION_UNAVAILABLE');
    assert.match(refused.errors![0]!.message, /extension "trap" is failed: 5 failures within 30 s/);
    assert.ok(performance.now() - began < 1000, 'answered at once, without calling the extension');
    const status = fixture.app.host.status().find((s) => s.name === 'trap')!;
    assert.equal(status.state, 'failed');
    assert.match(status.error!, /5 failures within 30 s, last: the extension crashed: wasm trap/);
    assert.deepEqual((await query('{ hello }')).data, { hello: 'world' }, 'the other extensions are unaffected');
  });

  it('refuses an oversized answer and oversized arguments', async () => {
    await start({ maxBodyBytes: 4 * 2 ** 20, limits: { maxRequestBytes: 1024 * 1024 } });
    const big = await query('{ huge modest }');
    assert.equal(big.errors?.[0]?.extensions?.code, 'EXTENSION_RESPONSE_TOO_LARGE');
    assert.equal((big.data?.['modest'] as string).length, 1024);
    // Answers cross a process's channel as text: bytes that are not UTF-8 fail their own field.
    const notUtf8 = await query('{ notUtf8 modest }');
    assert.equal(notUtf8.errors?.length, 1);
    assert.equal(notUtf8.errors?.[0]?.extensions?.code, 'EXTENSION_BAD_RESPONSE');
    assert.match(notUtf8.errors![0]!.message, /the answer is not valid UTF-8 JSON/);
    assert.equal((notUtf8.data?.['modest'] as string).length, 1024);
    const res = await request(fixture.app.handler)
      .post('/graphql')
      .send({ query: 'query($t: String!) { fail(message: $t) hello }', variables: { t: 'x'.repeat(2 * 2 ** 20) } })
      .expect(200);
    assert.equal(res.body.errors[0].extensions.code, 'EXTENSION_REQUEST_TOO_LARGE');
    assert.match(res.body.errors[0].message, /above the limit of 1048576 \(limits.maxRequestBytes\)/);
    assert.equal(res.body.data.hello, 'world');
  });

  it('captures stderr into the log, under a size cap', async () => {
    const logger = recordingLogger();
    await start({ logger });
    assert.deepEqual((await query('{ shout }')).data, { shout: 'shouted' });
    const fromStderr = logger.lines.filter((l) => (l.fields as { source?: string } | undefined)?.source === 'stderr');
    assert.ok(fromStderr.length > 10, 'stderr lines reach the log');
    assert.equal(fromStderr[0]!.level, 'warn');
    assert.equal(fromStderr[0]!.msg, '!'.repeat(1000));
    const bytes = fromStderr.reduce((n, l) => n + l.msg.length, 0);
    assert.ok(bytes <= 256 * 1024, `${bytes} bytes of 2 MB written reached the log`);
    assert.ok(logger.lines.some((l) => /log output throttled/.test(l.msg)));
  });

  it(`keeps the WASI sandbox closed in ${isolation} mode too`, async () => {
    await start();
    assert.deepEqual((await query('{ env preopens socket openForged }')).data, { env: 0, preopens: 0, socket: 'access-denied', openForged: 'refused' });
  });
});
