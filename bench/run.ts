/**
 * The benchmark suite (`npm run bench`; never part of `npm test`). Prints markdown to stdout
 * (progress goes to stderr) and writes every number, with the machine it ran on, to
 * `bench/results.json` (a partial or profiled run writes `bench/.work/results.json` instead).
 *
 *   1. HTTP throughput: plain graphql-http vs our middleware (native, inline, worker)   http.ts
 *   2. Runtime: transpile, compile, instantiate, load (cold/warm), per-call cost, RSS   runtime.ts
 *   3. Cold start to the first response, 1 and 10 extensions                           startup.ts
 *   4. Hot reload: rename to first response by the new version, event-loop stalls      reload.ts
 *
 * Settings: see common.ts (BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_ONLY,
 * BENCH_CPU_PROF). Expects the fixtures built (`node dist/fixtures/build.js`).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../fixtures/build.js';
import { ROOT, settings, WORK } from './common.js';
import { httpReport, runHttp } from './http.js';
import { reloadReport, runReload } from './reload.js';
import { runRuntime, runtimeReport } from './runtime.js';
import { seedIssues } from './seed.js';
import { runStartup, startupReport } from './startup.js';

for (const name of ['issues', 'counter', 'counter-v2', 'probe']) {
  if (!existsSync(fixturePath(name))) throw new Error(`fixture ${name} is not built: run \`node dist/fixtures/build.js\` first`);
}

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${process.platform} ${process.arch}`,
  date: new Date().toISOString(),
  settings,
};
const results: Record<string, unknown> = { machine };
const out: string[] = [
  '# forge-extensions benchmarks',
  '',
  `Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, ${machine.date}.`,
  `HTTP: ${settings.connections} connections, ${settings.duration} s per variant and scenario (${settings.rounds} interleaved rounds) after ${settings.warmup} s warm-up; autocannon runs in the orchestrating process and takes CPU from the same ${machine.cores} cores.`,
];
const started = performance.now();
const section = async <T>(name: string, title: string, run: () => Promise<T>, render: (r: T) => string) => {
  if (!settings.only.includes(name)) return;
  console.error(`[bench] ${title}...`);
  const t = performance.now();
  const value = await run();
  results[name] = value;
  out.push('', `## ${title}`, '', render(value));
  console.error(`[bench] ${title}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
};

console.error('[bench] seeding 1,000 issues x 10 comments...');
const seedFile = await seedIssues();

await section('http', '1. HTTP throughput', () => runHttp(seedFile), httpReport);
await section('runtime', '2. Runtime', () => runRuntime(seedFile), runtimeReport);
await section('startup', '3. Cold start to first response', () => runStartup(seedFile), startupReport);
await section('reload', '4. Hot reload', () => runReload(seedFile), reloadReport);

results['totalSeconds'] = (performance.now() - started) / 1000;
out.push('', `Total: ${(results['totalSeconds'] as number).toFixed(0)} s.`);
// Only a complete, unprofiled run with the default variants replaces bench/results.json.
const complete = ['http', 'runtime', 'startup', 'reload'].every((s) => settings.only.includes(s)) && !settings.cpuProf && !settings.childProf && !settings.variants && !settings.scenarios;
const resultsFile = complete ? join(ROOT, 'bench', 'results.json') : join(WORK, 'results.json');
writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
console.error(`[bench] results: ${resultsFile}`);
console.log(out.join('\n'));
