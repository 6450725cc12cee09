/**
 * Shared by the benchmark files: settings from the environment, scratch directories, child
 * processes (a fresh process per cold measurement), statistics and markdown tables.
 *
 * Settings (environment):
 *   BENCH_DURATION     seconds of measured load per HTTP variant and scenario (default 5)
 *   BENCH_ROUNDS       ... split into this many interleaved rounds (default 3)
 *   BENCH_WARMUP       seconds of unmeasured load before each (default 1)
 *   BENCH_SERVER_WARMUP  seconds of load on each fresh HTTP server before any measurement,
 *                      recorded as a warm-up curve (default 10 for the extension variants, at
 *                      most 3 for the others: a fresh JS guest is slow until its heap has grown)
 *   BENCH_RELOAD_REPS  reloads per hot-reload configuration (default 3, at most 3)
 *   BENCH_CONNECTIONS  concurrent HTTP connections (default 10)
 *   BENCH_ONLY         comma-separated sections to run: http,runtime,startup,reload (default all)
 *   BENCH_CPU_PROF     a server variant (plain, native, inline, worker) to run under --cpu-prof
 *                      (profiles land in bench/.work/prof/; summarise with dist/bench/profile.js)
 *   BENCH_CHILD_PROF   1: run the measuring child processes (runtime, startup, reload) under
 *                      --cpu-prof too (bench/.work/prof/children/)
 *   BENCH_VARIANTS     HTTP variants to run (default: all of servers.ts's VARIANTS)
 *   BENCH_SCENARIOS    HTTP scenarios to run, by number (default 1,2,3,4)
 */
import { fork } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../fixtures/build.js';

export { ROOT };
/** Scratch data (gitignored). */
export const WORK = join(ROOT, 'bench', '.work');
/** Where the compiled benchmark scripts are (`dist/bench/`). */
export const HERE = dirname(fileURLToPath(import.meta.url));

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

export const settings = {
  duration: num('BENCH_DURATION', 5),
  warmup: num('BENCH_WARMUP', 1),
  rounds: Math.round(num('BENCH_ROUNDS', 3)),
  serverWarmup: Math.round(num('BENCH_SERVER_WARMUP', 10)),
  connections: num('BENCH_CONNECTIONS', 10),
  only: (process.env['BENCH_ONLY'] ?? 'http,runtime,startup,reload').split(',').map((s) => s.trim()),
  cpuProf: process.env['BENCH_CPU_PROF'],
  childProf: process.env['BENCH_CHILD_PROF'] === '1',
  variants: process.env['BENCH_VARIANTS']?.split(',').map((s) => s.trim()),
  scenarios: process.env['BENCH_SCENARIOS']?.split(',').map((s) => s.trim()),
};

/** An empty directory under {@link WORK} (removed first if it exists). */
export function freshDir(...parts: string[]): string {
  const dir = join(WORK, ...parts);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export { withCustomSection } from '../test/helpers.js';

// ---- child processes -------------------------------------------------------------------------

/** A message a child sends its parent. */
export type ChildMessage = { type: 'result'; value: unknown } | { type: 'error'; message: string } | { type: string; [k: string]: unknown };

/** In a child: sends the result to the parent. */
export function report(value: unknown): void {
  process.send!({ type: 'result', value } satisfies ChildMessage);
}

/** In a child: runs `main`, reports its value (or its error), then exits. */
export function childMain(main: () => Promise<unknown>): void {
  main().then(
    (value) => {
      report(value);
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50).unref();
    },
    (e: Error) => {
      process.send!({ type: 'error', message: e?.stack ?? String(e) } satisfies ChildMessage);
      process.exitCode = 1;
      process.disconnect?.();
    },
  );
}

/** Whether this module is the process's entry script. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1];
}

/** Runs `dist/bench/<script>` in a fresh node process and resolves what it reports. */
export function runChild<T>(script: string, args: string[], nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const prof = settings.childProf ? ['--cpu-prof', '--cpu-prof-dir', join(WORK, 'prof', 'children')] : [];
    const child = fork(join(HERE, script), args, { execArgv: [...nodeArgs, ...prof], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: { value: T } | undefined;
    let error: string | undefined;
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'result') result = { value: msg.value as T };
      else if (msg.type === 'error') error = String(msg['message']);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result) resolve(result.value);
      else reject(new Error(`${script} ${args.join(' ')} failed (exit ${code ?? signal}): ${error ?? 'no result'}`));
    });
  });
}

// ---- numbers ---------------------------------------------------------------------------------

/** Percentile of sorted samples (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(samples: number[]): { mean: number; p50: number; p99: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { mean, p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: samples.length };
}

/** Milliseconds since `start` (a `performance.now()`). */
export const since = (start: number) => performance.now() - start;

/** A number for a table: 3 significant digits, thousands grouped. */
export function fmt(n: number | undefined | null, digits = 3): string {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 10 ** digits) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toString();
}

/** A markdown table. */
export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : (c ?? '–'))));
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(headers), line(headers.map((h, i) => (i === 0 ? '---' : '---:'))), ...cells.map(line)].join('\n');
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** POSTs a GraphQL request; resolves the parsed body, throwing on a non-200 status or `errors`. */
export async function graphql(url: string, query: string, variables?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} for ${query}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(`${url}: errors for ${query}: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data!;
}
