/**
 * Hot reload (issue 4): with `watch: true` and one client querying continuously (one request at
 * a time), the extension's file is replaced atomically (write a temp file, rename it over) and
 * we time, in the server's process:
 *
 * - rename → the library's own watcher (`watchExtensions`, a second instance with the host's
 *   settings) reports the change: chokidar + write-stability wait + debounce;
 * - rename → the host's `reloaded` event (load, compose, swap);
 * - rename → the first HTTP response served by the new version (counter: `hello` answers
 *   "world, v2"; issues: the serving version is the new sha256 and has resolved a field, which
 *   with one request in flight means this response);
 * - the event loop's longest stall and p99 delay (`monitorEventLoopDelay`, 1 ms resolution)
 *   from the rename to 500 ms after the first new response (the old version is disposed in
 *   that window), against the same client load without a reload (baseline, 1 s);
 * - errors the client saw (there should be none).
 *
 * Three reloads per configuration, each to bytes not seen before. JS fixture: `issues` → the same
 * bytes plus a custom section (new sha256, same behaviour). WAT fixture: `counter` →
 * `counter-v2` → `counter`+section → `counter-v2`+section. cold: the new version is not in the
 * cache (transpile); warm: it is on disk already (a new compiler reads it). Both isolations.
 *
 *   node dist/bench/reload.js '<json options>'      (one measurement, reported to the parent)
 */
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { fixturePath } from '../fixtures/build.js';
import { forgeExtensions, type Isolation } from '../lib/index.js';
import { watchExtensions } from '../lib/host/watcher.js';
import { ComponentCompiler, sha256Hex } from '../lib/runtime/compile.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { DEFAULT_LIMITS } from '../lib/runtime/wire.js';
import { childMain, freshDir, graphql, isMain, runChild, since, sleep, summarize, table, WORK, withCustomSection } from './common.js';
import { copySeed } from './seed.js';

interface ReloadOptions {
  fixture: 'issues' | 'counter';
  extDir: string;
  dataDir: string;
  cacheDir: string;
  isolation: Isolation;
  /** The new versions' bytes, renamed over `<extDir>/<fixture>.wasm` one after the other. */
  nextFiles: string[];
}
export interface ReloadResult {
  fixture: string;
  isolation: Isolation;
  cache: 'cold' | 'warm';
  /** Medians over the reloads (see {@link REPS}). */
  watcherMs: number;
  reloadedEventMs: number;
  firstNewResponseMs: number;
  /** The worst stall of all the reloads, and the median of their p99s. */
  stallMaxMs: number;
  stallP99Ms: number;
  /** Every reload's numbers. */
  each: Array<{ watcherMs: number; reloadedEventMs: number; firstNewResponseMs: number; stallMaxMs: number; stallP99Ms: number }>;
  baselineMaxMs: number;
  baselineP99Ms: number;
  requestsDuringReload: number;
  errors: number;
}

const QUERIES = { issues: '{ issue(id: 1) { id title } }', counter: '{ hello }' };
/** Reloads per configuration (BENCH_RELOAD_REPS, at most 3). */
const REPS = Math.min(3, Math.max(1, Number(process.env['BENCH_RELOAD_REPS'] ?? 3)));

async function measure(o: ReloadOptions): Promise<Omit<ReloadResult, 'fixture' | 'isolation' | 'cache'>> {
  const name = o.fixture;
  const forge = forgeExtensions(o.extDir, { dataDir: o.dataDir, cacheDir: o.cacheDir, isolation: o.isolation, watch: true, graphiql: false, logger: silentLogger });
  const app = express();
  app.use('/graphql', forge);
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  await forge.host.ready();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  let renamedAt = NaN;
  let firstNew = NaN;
  let reloaded = NaN;
  let watcher = NaN;
  let expected: { version: string; hello: string } | undefined;
  let requests = 0;
  let errors = 0;
  let stop = false;
  const client = (async () => {
    while (!stop) {
      try {
        const data = await graphql(url, QUERIES[name]);
        requests++;
        // One request in flight: if the new version has resolved a field, it answered this one.
        const ext = forge.host.extension(name);
        if (expected && Number.isNaN(firstNew) && ext?.version === expected.version && ext.stats.fields > 0) {
          if (name === 'counter' && data['hello'] !== expected.hello) throw new Error(`counter answered ${String(data['hello'])}, not ${expected.hello}`);
          firstNew = since(renamedAt);
        }
      } catch (e) {
        errors++;
        console.error(`reload client: ${(e as Error).message}`);
      }
    }
  })();
  forge.host.on('reloaded', () => (reloaded = since(renamedAt)));
  forge.host.on('failed', ({ error }: { error: Error }) => console.error(`reload failed: ${error.message}`));
  const ownWatcher = await watchExtensions(o.extDir, () => (watcher = since(renamedAt)), () => {});

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await sleep(1000);
  histogram.disable();
  const baseline = { max: histogram.max / 1e6, p99: histogram.percentile(99) / 1e6 };
  const requestsBefore = requests;

  const each: ReloadResult['each'] = [];
  for (const file of o.nextFiles) {
    const bytes = readFileSync(file);
    const counterV2 = readFileSync(fixturePath('counter-v2'));
    expected = { version: await sha256Hex(bytes), hello: bytes.subarray(0, counterV2.length).equals(counterV2) ? 'world, v2' : 'world' };
    [firstNew, reloaded, watcher] = [NaN, NaN, NaN];
    histogram.reset();
    histogram.enable();
    const tmp = join(o.extDir, `${name}.wasm.tmp`);
    writeFileSync(tmp, bytes);
    renamedAt = performance.now();
    renameSync(tmp, join(o.extDir, `${name}.wasm`));
    const deadline = performance.now() + 60_000;
    while (Number.isNaN(firstNew) && performance.now() < deadline) await sleep(5);
    if (Number.isNaN(firstNew)) throw new Error(`${name}: the new version never answered`);
    await sleep(500);
    histogram.disable();
    each.push({ watcherMs: watcher, reloadedEventMs: reloaded, firstNewResponseMs: firstNew, stallMaxMs: histogram.max / 1e6, stallP99Ms: histogram.percentile(99) / 1e6 });
  }
  stop = true;
  await client;
  await ownWatcher.close();
  server.closeAllConnections();
  server.close();
  await forge.host.close();
  const median = (key: keyof ReloadResult['each'][number]) => summarize(each.map((e) => e[key])).p50;
  return {
    watcherMs: median('watcherMs'),
    reloadedEventMs: median('reloadedEventMs'),
    firstNewResponseMs: median('firstNewResponseMs'),
    stallMaxMs: Math.max(...each.map((e) => e.stallMaxMs)),
    stallP99Ms: median('stallP99Ms'),
    each,
    baselineMaxMs: baseline.max,
    baselineP99Ms: baseline.p99,
    requestsDuringReload: requests - requestsBefore,
    errors,
  };
}

export async function runReload(seedFile: string): Promise<ReloadResult[]> {
  const results: ReloadResult[] = [];
  const memory = DEFAULT_LIMITS.memoryMb * 2 ** 20;
  for (const fixture of ['counter', 'issues'] as const) {
    const current = readFileSync(fixturePath(fixture));
    for (const isolation of ['worker', 'inline'] as const) {
      for (const cache of ['cold', 'warm'] as const) {
        const slug = `${fixture}-${isolation}-${cache}`;
        const extDir = freshDir('reload', slug, 'extensions');
        const dataDir = freshDir('reload', slug, 'data');
        const cacheDir = freshDir('reload', slug, 'cache');
        // counter: v2, then v1 and v2 again with a custom section (new sha256s); issues: itself + a section.
        const base = fixture === 'counter' ? ['counter-v2', 'counter', 'counter-v2'] : ['issues', 'issues', 'issues'];
        const nextFiles = base.slice(0, REPS).map((f, i) => {
          const raw = readFileSync(fixturePath(f));
          const bytes = fixture === 'counter' && i === 0 ? raw : withCustomSection(raw, `${slug}-${i}-${Date.now()}`);
          const file = join(WORK, 'reload', slug, `next-${i}.wasm`);
          writeFileSync(file, bytes);
          return file;
        });
        copyFileSync(fixturePath(fixture), join(extDir, `${fixture}.wasm`));
        if (fixture === 'issues') copySeed(seedFile, dataDir);
        // Both start from a cached current version; warm has the next ones cached too.
        const compiler = new ComponentCompiler(cacheDir);
        await compiler.compile(current, memory);
        if (cache === 'warm') for (const file of nextFiles) await compiler.compile(readFileSync(file), memory);
        const options: ReloadOptions = { fixture, extDir, dataDir, cacheDir, isolation, nextFiles };
        const r = await runChild<ReloadResult>('reload.js', [JSON.stringify(options)]);
        results.push({ ...r, fixture, isolation, cache });
        console.error(`  reload ${slug}: new version answered after ${r.each.map((e) => e.firstNewResponseMs.toFixed(0)).join(', ')} ms; max stalls ${r.each.map((e) => e.stallMaxMs.toFixed(1)).join(', ')} ms`);
      }
    }
  }
  return results;
}

export function reloadReport(results: ReloadResult[]): string {
  return [
    `Times from the atomic rename (ms), median of ${REPS} reloads per row (each to new bytes). Stalls: event-loop delay from the rename to 500 ms after the first new response, worst of the reloads (max) and median p99; baseline: 1 s of the same client load without a reload.`,
    '',
    table(
      ['fixture', 'isolation', 'new version', 'watcher fired', '`reloaded` event', 'first new response', 'max stall', 'p99 delay', 'baseline max', 'baseline p99', 'requests meanwhile', 'errors'],
      results.map((r) => [
        r.fixture === 'counter' ? 'counter ⇄ counter-v2 (WAT)' : 'issues → issues+section (JS)',
        r.isolation,
        r.cache === 'cold' ? 'not cached' : 'cached on disk',
        r.watcherMs,
        r.reloadedEventMs,
        r.firstNewResponseMs,
        r.stallMaxMs,
        r.stallP99Ms,
        r.baselineMaxMs,
        r.baselineP99Ms,
        r.requestsDuringReload,
        r.errors,
      ]),
    ),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  childMain(() => measure(JSON.parse(process.argv[2]!) as ReloadOptions));
}
