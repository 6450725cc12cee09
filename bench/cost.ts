/**
 * CPU cost per request of one scenario, for each variant: the server process and its
 * descendants (an extension's own process included), from /proc, over a fixed number of
 * requests at BENCH_CONNECTIONS, in all and split (the server process: every thread of it,
 * worker isolation's included; its child processes: process isolation's). Less sensitive to a busy machine than requests per second
 * (http.ts), so a change can be compared run to run on a loaded 2-core machine.
 *
 *   BENCH_VARIANTS=plain,process BENCH_SCENARIOS=3 node dist/bench/cost.js [requests=3000]
 *
 * Linux only (/proc).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fixturePath } from '../fixtures/build.js';
import { freshDir, isMain, settings, table, WORK } from './common.js';
import { SCENARIOS } from './http.js';
import { copySeed, SHARED_CACHE, seedIssues } from './seed.js';
import { startServer, type Variant } from './servers.js';

const TICK_US = 1e6 / 100; // USER_HZ

/**
 * CPU time (µs) of `pid` and every process descending from it (children that exited are counted
 * by their parent); `own`: of `pid` alone (all its threads).
 */
export function treeCpuUs(pid: number, own = false): number {
  const stats = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return [{ pid: Number(d), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }];
    } catch {
      return [];
    }
  });
  const inTree = new Set([pid]);
  for (let grew = !own; grew; ) {
    grew = false;
    for (const s of stats) if (!inTree.has(s.pid) && inTree.has(s.ppid)) (inTree.add(s.pid), (grew = true));
  }
  return stats.filter((s) => inTree.has(s.pid)).reduce((n, s) => n + s.ticks, 0) * TICK_US;
}

if (isMain(import.meta.url)) await main();

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 3000);
  const variants = (settings.variants ?? ['plain', 'process']) as Variant[];
  const scenarios = SCENARIOS.filter((s) => !settings.scenarios || settings.scenarios.includes(s.id.split(':')[0]!));
  const seedFile = await seedIssues();
  const rows: string[][] = [];
  for (const variant of variants) {
    const dataDir = freshDir('cost', variant);
    copySeed(seedFile, dataDir);
    const extDir = join(WORK, 'cost', `${variant}-extensions`);
    mkdirSync(extDir, { recursive: true });
    if (variant !== 'plain' && variant !== 'plain-batched' && variant !== 'native') copyFileSync(fixturePath('issues'), join(extDir, 'issues.wasm'));
    const server = await startServer(variant, [dataDir, extDir, SHARED_CACHE]);
    const { pid } = server;
    for (const scenario of scenarios) {
      const run = (amount: number) =>
        autocannon({
          url: `${server.url}`,
          method: 'POST',
          connections: settings.connections,
          amount,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: scenario.query, variables: scenario.variables?.(true) }),
        });
      await run(Math.max(500, requests / 2)); // warm-up
      const before = [treeCpuUs(pid), treeCpuUs(pid, true)];
      const result = await run(requests);
      const [cpu, own] = [treeCpuUs(pid) - before[0]!, treeCpuUs(pid, true) - before[1]!].map((us) => Math.round(us / requests));
      rows.push([scenario.id, variant, String(result.non2xx), String(Math.round(result.requests.average)), String(cpu), String(own), String(cpu! - own!)]);
      console.error(rows.at(-1)!.join(' | '));
    }
    await server.close();
  }
  console.log(table(['scenario', 'variant', 'non-2xx', 'req/s', 'CPU µs/req (server + its processes)', 'server process', 'extension processes'], rows));
}
