/**
 * Issue 10 row 5: how long can one heavy request block the event loop?
 *
 * An Express server (in this process) serves the `ints` fixture, whose `ints` field answers a
 * list of 1,000,000 integers (~3.9 MB). One client sends a query with 8 aliases of `ints`
 * (BENCH_ALIASES; BENCH_FIELD=someInts: 100,000 integers, `one`: a single one) a few times
 * (BENCH_HEAVY); another sends `{ __typename }` every 5 ms meanwhile.
 * Printed: the server's longest event-loop block (perf_hooks.monitorEventLoopDelay, 1 ms
 * resolution; the clients run in a child process), what the heavy requests got, and the small
 * requests' worst latency.
 *
 *   npx tsc -p . && node dist/fixtures/build.js && node dist/bench/event-loop.js
 *   BENCH_BUDGETS='{"maxAnswerValues":10000000,"maxAnswerBytes":67108864}' node dist/bench/event-loop.js  (budgets raised)
 *   BENCH_TIMEOUT_MS: the extension's `limits.timeoutMs` (default 10000)
 *
 * Large documents (parsed and validated on the event loop before any budget applies):
 *   BENCH_FIELD=one BENCH_ALIASES=40000 node dist/bench/event-loop.js         (~400 KB, 40,000 extension fields)
 *   BENCH_FIELD=__typename BENCH_ALIASES=30000 node dist/bench/event-loop.js  (~450 KB of a base field: no budget counts it)
 *   BENCH_FIELD=__typename BENCH_ALIASES=332 node dist/bench/event-loop.js    (998 tokens: just within maxDocumentTokens)
 *   BENCH_QUERY='{ __schema { types { name } ... } }': this query instead of the aliases
 *   BENCH_OPTIONS='{"maxDocumentTokens":1000000,"maxDocumentBytes":1048576}': merged into the middleware's options
 *   BENCH_WARM=2: heavy requests sent before the measurement starts (JIT warm-up; default 0)
 * Each heavy request ends with its own comment (`# request N`): none is served from the document cache.
 */
import { fork } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { fixturePath } from '../fixtures/build.js';
import { forgeExtensions } from '../lib/index.js';
import { freshDir } from './common.js';

const aliases = Number(process.env['BENCH_ALIASES'] ?? 8);
/** `ints` (1,000,000 integers) or `someInts` (100,000). */
const field = process.env['BENCH_FIELD'] ?? 'ints';
const heavyRuns = Number(process.env['BENCH_HEAVY'] ?? 3);
const budgets = process.env['BENCH_BUDGETS'] ? JSON.parse(process.env['BENCH_BUDGETS']) : undefined;
const extraOptions = process.env['BENCH_OPTIONS'] ? JSON.parse(process.env['BENCH_OPTIONS']) : {};
/** The extension's deadline: long by default, so the answers arrive and their cost is measured. */
const timeoutMs = Number(process.env['BENCH_TIMEOUT_MS'] ?? 10_000);

if (process.argv[2] === 'client') {
  await runClients(process.argv[3]!);
  process.exit(0);
}

/** One client sends the heavy query BENCH_HEAVY times; another `{ __typename }` every 5 ms meanwhile. */
async function runClients(url: string): Promise<void> {
  let failures = 0;
  const post = async (query: string) => {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      return { status: res.status, text: await res.text() };
    } catch (e) {
      failures++; // a connection reset while the server was blocked
      return { status: 0, text: String((e as Error).cause ?? e) };
    }
  };
  const heavyQuery = process.env['BENCH_QUERY'] ?? `{ ${Array.from({ length: aliases }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
  console.log(`heavy query: ${(Buffer.byteLength(heavyQuery) / 1024).toFixed(1)} KB`);
  let running = true;
  const smallLatencies: number[] = [];
  const small = (async () => {
    while (running) {
      const start = performance.now();
      await post('{ __typename }');
      smallLatencies.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  for (let i = 0; i < heavyRuns; i++) {
    const start = performance.now();
    const { status, text } = await post(`${heavyQuery}\n# request ${i}`);
    const codes = [...new Set([...text.matchAll(/"code":"([A-Z_]+)"/g)].map((m) => m[1]))];
    console.log(`heavy #${i + 1}: HTTP ${status}, ${(text.length / 1e6).toFixed(1)} MB, ${(performance.now() - start).toFixed(0)} ms, codes: ${codes.join(', ') || 'none'}`);
  }
  running = false;
  await small;
  console.log(`{ __typename } x${smallLatencies.length}: worst ${Math.max(...smallLatencies).toFixed(1)} ms; failed requests: ${failures}`);
}

const dir = freshDir('event-loop');
const extensions = join(dir, 'extensions');
freshDir('event-loop', 'extensions');
copyFileSync(fixturePath('ints'), join(extensions, 'ints.wasm'));

const middleware = forgeExtensions(extensions, {
  dataDir: join(dir, 'data'),
  watch: false,
  graphiql: false,
  limits: { timeoutMs },
  ...(budgets ? { budgets } : {}),
  ...extraOptions,
});
const app = express();
app.use('/graphql', middleware);
const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
await middleware.host.ready();

const post = async (query: string) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: res.status, text: await res.text() };
};
await post('{ one }'); // warm: the instance is up
const warmUps = Number(process.env['BENCH_WARM'] ?? 0);
for (let i = 0; i < warmUps; i++) await post(`${process.env['BENCH_QUERY'] ?? `{ ${Array.from({ length: aliases }, (_, k) => `a${k}: ${field}`).join(' ')} }`}\n# warm-up ${i}`);

// The clients run in a child process, so reading 31 MB answers does not count as the server's block.
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const client = fork(fileURLToPath(import.meta.url), ['client', url], { stdio: 'inherit' });
await new Promise((resolve, reject) => client.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`client exited with ${code}`)))));
delay.disable();
console.log(`longest event-loop block: ${(delay.max / 1e6).toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms)`);
await middleware.host.close();
server.close();
