/**
 * Compares two builds of this repository on one HTTP scenario, in interleaved rounds (so a busy
 * machine weighs on both alike): plain, `<variant>` of build A and `<variant>` of build B. Each
 * build is a checkout with `npm ci`, `npx tsc -p .` and `node dist/fixtures/build.js` done.
 * Prints req/s (median of the rounds, × plain), CPU µs per request of each server and its own
 * processes (an extension's process included; Linux /proc) and p99.
 *
 *   S=3 V=process R=5 D=4 node dist/bench/compare.js <checkout A> <checkout B>
 *
 * S: scenario number (http.ts), V: variant (servers.ts), R: rounds, D: seconds per round.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { freshDir, table } from './common.js';
import { treeCpuUs } from './cost.js';
import { SCENARIOS } from './http.js';
import { copySeed, SHARED_CACHE, seedIssues } from './seed.js';
import type { Variant } from './servers.js';

const [a, b] = process.argv.slice(2).map((dir) => resolve(dir));
if (!a || !b) throw new Error('usage: node dist/bench/compare.js <checkout A> <checkout B>');
const scenario = SCENARIOS.find((s) => s.id.startsWith(`${process.env['S'] ?? '3'}:`))!;
const variant = (process.env['V'] ?? 'process') as Variant;
const rounds = Number(process.env['R'] ?? 5);
const seconds = Number(process.env['D'] ?? 4);

const seedFile = await seedIssues();
const servers: Array<{ name: string; url: string; pid: number; close(): Promise<void> }> = [];
for (const [name, checkout, v] of [['plain', a, 'plain'], [`${variant} A`, a, variant], [`${variant} B`, b, variant]] as const) {
  const { startServer } = (await import(join(checkout, 'dist', 'bench', 'servers.js'))) as typeof import('./servers.js');
  const dir = freshDir('compare', name.replace(' ', '-'));
  mkdirSync(join(dir, 'ext'));
  copySeed(seedFile, dir);
  if (v !== 'plain') copyFileSync(join(checkout, 'fixtures', '.build', 'issues.wasm'), join(dir, 'ext', 'issues.wasm'));
  servers.push({ name, ...(await startServer(v as Variant, [dir, join(dir, 'ext'), SHARED_CACHE])) });
}
const load = (url: string, duration: number) =>
  autocannon({ url, method: 'POST', connections: 10, duration, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: scenario.query, variables: scenario.variables?.(true) }) });
for (const s of servers) await load(s.url, 8); // warm-up
const samples = new Map(servers.map((s) => [s.name, [] as Array<{ rps: number; cpu: number; p99: number }>]));
for (let round = 0; round < rounds; round++) {
  // Rotated order, so no server always runs first.
  for (const s of [...servers.slice(round % 3), ...servers.slice(0, round % 3)]) {
    const before = treeCpuUs(s.pid);
    const r = await load(s.url, seconds);
    samples.get(s.name)!.push({ rps: r.requests.average, cpu: (treeCpuUs(s.pid) - before) / r.requests.total, p99: r.latency.p99 });
  }
}
for (const s of servers) await s.close();
const median = (xs: number[]) => xs.slice().sort((x, y) => x - y)[xs.length >> 1]!;
const plainRps = median(samples.get('plain')!.map((x) => x.rps));
console.log(`${scenario.id}; A = ${a}, B = ${b}; ${rounds} rounds of ${seconds} s`);
console.log(
  table(
    ['server', 'req/s', '× plain', 'CPU µs/req', 'p99 ms'],
    [...samples].map(([name, xs]) => [name, Math.round(median(xs.map((x) => x.rps))), (median(xs.map((x) => x.rps)) / plainRps).toFixed(2), Math.round(median(xs.map((x) => x.cpu))), median(xs.map((x) => x.p99))]),
  ),
);
