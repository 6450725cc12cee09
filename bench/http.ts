/**
 * HTTP throughput (issue 7): the same four queries against four servers over identical data.
 *
 *   plain   graphql-http + hand-written resolvers (what a user writes without us)
 *   native  the same resolvers as our middleware's base schema, no extension
 *   inline  the `issues` extension, isolation 'inline'
 *   worker  the `issues` extension, isolation 'worker'; worker-2: with `workers: 2`
 *   process the `issues` extension, isolation 'process' (the default)
 *   (plain-batched: plain with a DataLoader-style loader, for the N+1 scenario only)
 *
 * Each server runs in its own child process (servers.ts), all started up front; autocannon runs
 * here, in this process, so it costs CPU too: on a 2-core machine the load generator takes most
 * of one core and the server (plus its worker thread, for `worker`) shares the other. Per
 * scenario, every variant is warmed up, then measured in BENCH_ROUNDS interleaved rounds (order
 * rotated) of BENCH_DURATION / BENCH_ROUNDS seconds each: the table shows the median round and
 * the spread, so a noisy neighbour hits all variants alike. Every scenario is checked once
 * before it is measured (status 200, no `errors`, the same `data` as plain), and every
 * response under load is checked the same way: a broken variant fails loudly.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fixturePath } from '../fixtures/build.js';
import { fmt, freshDir, graphql, settings, summarize, table, WORK } from './common.js';
import { copySeed, SHARED_CACHE } from './seed.js';
import { startServer, type Variant } from './servers.js';

export interface Scenario {
  id: string;
  query: string;
  /** Variables per request (varied under load); `sample` is the one checked against plain. */
  variables?: (sample: boolean) => Record<string, unknown>;
}

export const SCENARIOS: Scenario[] = [
  { id: '1: issue(id) { id title }', query: 'query($id: ID!) { issue(id: $id) { id title } }', variables: (sample) => ({ id: sample ? 7 : 1 + Math.floor(Math.random() * 1000) }) },
  { id: '2: issues(first: 50) { id title status }', query: '{ issues(first: 50) { id title status } }' },
  { id: '3: issues(first: 50) { id comments { body } }', query: '{ issues(first: 50) { id comments { body } } }' },
  { id: '4: mutation createIssue(title: "x") { id }', query: 'mutation { createIssue(title: "x") { id } }' },
];

/** Which variants run which scenarios (mutations last: they add rows to each variant's own copy). */
const RUNS: Array<{ variant: Variant; scenarios: string[] }> = [
  { variant: 'plain', scenarios: SCENARIOS.map((s) => s.id) },
  { variant: 'plain-batched', scenarios: [SCENARIOS[2]!.id] },
  { variant: 'native', scenarios: SCENARIOS.map((s) => s.id) },
  { variant: 'inline', scenarios: SCENARIOS.map((s) => s.id) },
  { variant: 'worker', scenarios: SCENARIOS.map((s) => s.id) },
  { variant: 'worker-2', scenarios: [SCENARIOS[1]!.id, SCENARIOS[2]!.id] },
  { variant: 'process', scenarios: SCENARIOS.map((s) => s.id) },
  // The guest's own resolvers (no @sql), for the guest path's cost and its regressions.
  { variant: 'inline-guest', scenarios: SCENARIOS.map((s) => s.id) },
  { variant: 'worker-guest', scenarios: SCENARIOS.map((s) => s.id) },
  { variant: 'process-guest', scenarios: SCENARIOS.map((s) => s.id) },
];

export interface HttpResult {
  variant: Variant;
  scenario: string;
  /** Median over the rounds, and the spread. */
  rps: number;
  rpsMin: number;
  rpsMax: number;
  /** Medians over the rounds, ms. */
  p50: number;
  p99: number;
  requests: number;
  /** Server process CPU time (all threads) per request, µs. */
  serverCpuUs: number;
  /** Server main-thread event-loop utilisation during the run (0..1). */
  serverElu: number;
}

const HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };

export interface WarmupCurve {
  variant: Variant;
  scenario: string;
  /** Responses in each second after the server's start. */
  perSecond: number[];
}

export async function runHttp(seedFile: string): Promise<{ results: HttpResult[]; warmup: WarmupCurve[] }> {
  const results: HttpResult[] = [];
  const warmup: WarmupCurve[] = [];
  const expected = new Map<string, string>();
  const emptyExtDir = freshDir('http', 'no-extensions');
  const runs = RUNS.filter((r) => !settings.variants || settings.variants.includes(r.variant));
  const servers = new Map<Variant, Server>();
  try {
    // Every server up at once (idle ones cost nothing), so the rounds can interleave them.
    for (const { variant } of runs) {
      const dataDir = freshDir('http', variant);
      copySeed(seedFile, dataDir);
      let extDir = emptyExtDir;
      if (servesExtension(variant)) {
        extDir = join(WORK, 'http', `${variant}-extensions`);
        mkdirSync(extDir, { recursive: true });
        copyFileSync(fixturePath('issues'), join(extDir, 'issues.wasm'));
      }
      servers.set(variant, await startServer(variant, [dataDir, extDir, SHARED_CACHE]));
    }
    // A fresh server's first seconds: a JS guest is slow until its heap has grown to its working
    // size (issues: linear memory 29 -> ~70 MiB over its first ~4,000 calls, ~5 ms guest pauses
    // meanwhile), and V8 tiers its wasm up. Recorded as a curve, and run before the
    // measurements so they show the steady state.
    const warmScenario = SCENARIOS[1]!;
    for (const { variant } of runs) {
      const curve: number[] = [];
      // Plain JavaScript warms up in a second or two; the guests need much longer.
      const seconds = servesExtension(variant) ? settings.serverWarmup : Math.min(3, settings.serverWarmup);
      await check(servers.get(variant)!.url, warmScenario, expected, variant);
      await load(servers.get(variant)!.url, warmScenario, seconds, curve);
      warmup.push({ variant, scenario: warmScenario.id, perSecond: curve });
      console.error(`  http ${variant.padEnd(13)} first ${seconds} s after start: ${curve.join(' / ')} req/s`);
    }
    for (const scenario of SCENARIOS.filter((s) => !settings.scenarios || settings.scenarios.includes(s.id.split(':')[0]!))) {
      const variants = runs.filter((r) => r.scenarios.includes(scenario.id)).map((r) => r.variant);
      for (const variant of variants) {
        await check(servers.get(variant)!.url, scenario, expected, variant);
        await load(servers.get(variant)!.url, scenario, settings.warmup);
      }
      const rounds = new Map<Variant, Round[]>(variants.map((v) => [v, []]));
      const profiled = settings.cpuProf ? servers.get(settings.cpuProf as Variant) : undefined;
      const profileFile = join(WORK, 'prof', `${settings.cpuProf}-scenario-${scenario.id.split(':')[0]}.cpuprofile`);
      if (profiled && variants.includes(settings.cpuProf as Variant)) await profiled.profile('start', profileFile);
      for (let round = 0; round < settings.rounds; round++) {
        // Rotate the order so no variant always runs first (or right after the heaviest one).
        for (const variant of [...variants.slice(round % variants.length), ...variants.slice(0, round % variants.length)]) {
          const server = servers.get(variant)!;
          const before = await server.cpu();
          const r = await load(server.url, scenario, settings.duration / settings.rounds);
          const after = await server.cpu();
          const cpuUs = after.usage.user + after.usage.system - before.usage.user - before.usage.system;
          rounds.get(variant)!.push({ ...r, cpuUs, elu: performance.eventLoopUtilization(after.elu, before.elu).utilization });
        }
      }
      if (profiled && variants.includes(settings.cpuProf as Variant)) {
        await profiled.profile('stop', profileFile);
        console.error(`  http main-thread profile of ${settings.cpuProf} (measured rounds only): ${profileFile}`);
      }
      for (const [variant, rs] of rounds) {
        const median = (f: (r: Round) => number) => summarize(rs.map(f)).p50;
        const requests = rs.reduce((n, r) => n + r.requests, 0);
        const rps = rs.map((r) => r.rps);
        results.push({
          variant,
          scenario: scenario.id,
          rps: median((r) => r.rps),
          rpsMin: Math.min(...rps),
          rpsMax: Math.max(...rps),
          p50: median((r) => r.p50),
          p99: median((r) => r.p99),
          requests,
          serverCpuUs: rs.reduce((n, r) => n + r.cpuUs, 0) / requests,
          serverElu: summarize(rs.map((r) => r.elu)).mean,
        });
        console.error(`  http ${variant.padEnd(13)} ${scenario.id.padEnd(45)} ${rps.map((x) => fmt(x)).join(' / ')} req/s`);
      }
    }
  } finally {
    for (const server of servers.values()) await server.close();
  }
  return { results, warmup };
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  cpuUs: number;
  elu: number;
}
type Server = Awaited<ReturnType<typeof startServer>>;

/** Sends the scenario once: fails unless it answers 200 without errors and with plain's data. */
async function check(url: string, scenario: Scenario, expected: Map<string, string>, variant: string): Promise<void> {
  const data = JSON.stringify(await graphql(url, scenario.query, scenario.variables?.(true)));
  if (scenario.query.startsWith('mutation')) return;
  const want = expected.get(scenario.id);
  if (want === undefined) expected.set(scenario.id, data);
  else if (want !== data) throw new Error(`${variant} answers ${scenario.id} differently from plain:\n${data.slice(0, 300)}\nvs\n${want.slice(0, 300)}`);
}

/** Runs autocannon; `curve`, if given, receives the responses of each second. */
async function load(url: string, scenario: Scenario, duration: number, curve?: number[]) {
  let bad = 0;
  const start = performance.now();
  let firstBad = '';
  const body = JSON.stringify({ query: scenario.query });
  const vary = scenario.variables;
  const result = await autocannon({
    url,
    connections: settings.connections,
    duration,
    requests: [
      {
        method: 'POST',
        headers: HEADERS,
        body,
        ...(vary ? { setupRequest: (req) => ({ ...req, body: JSON.stringify({ query: scenario.query, variables: vary(false) }) }) } : {}),
        onResponse: (status, text) => {
          if (curve) {
            const second = Math.floor((performance.now() - start) / 1000);
            if (second < duration) curve[second] = (curve[second] ?? 0) + 1;
          }
          if (status !== 200 || text.includes('"errors"')) {
            bad++;
            firstBad ||= `${status} ${text.slice(0, 300)}`;
          }
        },
      },
    ],
  });
  if (bad || result.errors || result.timeouts || result.non2xx) {
    throw new Error(`${url} ${scenario.id}: ${bad} bad answers, ${result.errors} errors, ${result.timeouts} timeouts; first: ${firstBad}`);
  }
  return { rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total };
}

/** The markdown for {@link runHttp}'s results. */
export function httpReport({ results, warmup }: { results: HttpResult[]; warmup: WarmupCurve[] }): string {
  const plain = (scenario: string) => results.find((r) => r.scenario === scenario && r.variant === 'plain')?.rps;
  const detail = table(
    ['scenario', 'variant', 'req/s (median)', 'req/s min–max', 'p50 ms', 'p99 ms', '× plain', 'server CPU µs/req', 'server ELU'],
    results.map((r) => [r.scenario, r.variant, r.rps, `${fmt(r.rpsMin)}–${fmt(r.rpsMax)}`, r.p50, r.p99, r.rps / plain(r.scenario)!, r.serverCpuUs, r.serverElu]),
  );
  const ratio = (variant: string, scenario: Scenario) => {
    const r = results.find((x) => x.scenario === scenario.id && x.variant === variant);
    return r ? r.rps / plain(scenario.id)! : NaN;
  };
  const targets: Array<[string, Scenario, number]> = [
    ...SCENARIOS.map((s): [string, Scenario, number] => ['native', s, 1.5]),
    // Issue 14 (SQL resolvers), default isolation: issue(id), issues(first: 50), with comments, the mutation.
    ['process', SCENARIOS[0]!, 1.0],
    ['process', SCENARIOS[1]!, 1.0],
    ['process', SCENARIOS[2]!, 1.5],
    ['process', SCENARIOS[3]!, 1.0],
  ];
  const targetTable = table(
    ['target', 'measured', 'met'],
    targets.map(([variant, s, want]) => {
      const got = ratio(variant, s);
      return [`${variant}/plain ≥ ${want} (scenario ${s.id.split(':')[0]})`, got, Number.isNaN(got) ? 'not measured' : got >= want ? 'yes' : '**no**'];
    }),
  );
  const seconds = Math.max(0, ...warmup.map((w) => w.perSecond.length));
  const curve = table(
    ['variant', ...Array.from({ length: seconds }, (_, i) => `${i}–${i + 1} s`)],
    warmup.map((w) => [w.variant, ...Array.from({ length: seconds }, (_, i) => (i < w.perSecond.length ? w.perSecond[i] ?? 0 : undefined))]),
  );
  return [
    `Warm-up: req/s in each second of a fresh server's first seconds (scenario ${warmup[0]?.scenario ?? '2'}; ${seconds} s for the extension variants, 3 s for the others), before anything below was measured. A fresh JS guest is slow until its heap reaches its working size (and V8 tiers its wasm up):`,
    '',
    curve,
    '',
    'Steady state. req/s: median of the rounds (and their spread); p50/p99: medians of the rounds; server CPU: all threads of the server process, per request; server ELU: its main thread\'s event-loop utilisation (worker: below 1 means the extension\'s thread, not the main thread, is the bottleneck).',
    '',
    detail,
    '',
    'Targets (throughput ratio to plain, same scenario):',
    '',
    targetTable,
  ].join('\n');
}

/** The variants that serve the `issues` extension (the others serve plain JavaScript resolvers). */
function servesExtension(variant: Variant): boolean {
  return variant.startsWith('inline') || variant.startsWith('process') || variant.startsWith('worker');
}
