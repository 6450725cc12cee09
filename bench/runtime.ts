/**
 * Runtime numbers (issues 2 and 5) for a JS extension (`issues`, ~12 MB, SpiderMonkey inside)
 * and a WAT one (`counter`, ~5 KB), each measured in a fresh process:
 *
 * - the load pipeline step by step: inspect, ComponentCompiler cold (the process's first
 *   transpile: a worker, jco compiling itself, the transpile, disk write, compile) and warm (disk
 *   cache hit), WebAssembly.compile of the core modules, glue import, instantiate, init,
 *   migrate, get-schema, and a second transpile on the main thread (jco warm: the component's
 *   own share);
 * - `loadExtension` end to end: cold (empty cache dir), warm (cache on disk, new compiler: a
 *   copy of the cache under a new path), hot (same process and cache dir: compiled modules in
 *   memory), inline, worker and process;
 * - per-call cost: sequential `resolveField` latency, and batched throughput (500 concurrent
 *   `resolveField`s become one `resolve-batch`), inline, worker and process;
 * - RSS per loaded extension: 5 copies (different names, same bytes) in a child run with
 *   `--expose-gc`, process RSS after GC (worker threads included; in process isolation plus
 *   the extension processes' RSS), just loaded and after a few
 *   thousand calls each (a JS guest's heap grows to its working size over its first calls).
 *
 *   node dist/bench/runtime.js load <fixture>            the first three (one JSON report)
 *   node --expose-gc dist/bench/runtime.js rss <fixture> <isolation> <seeded issues db>
 *   node dist/bench/runtime.js calls <fixture> <isolation>    per-call numbers only (a quick look)
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../fixtures/build.js';
import { ExtensionDatabase } from '../lib/data/database.js';
import { loadExtension, type Extension, type FieldRequest, type Isolation } from '../lib/index.js';
import { inspectComponent } from '../lib/runtime/component-check.js';
import { ComponentCompiler } from '../lib/runtime/compile.js';
import { GuestInstance } from '../lib/runtime/instance.js';
import { sqlFieldsOf } from '../lib/runtime/sql-fields.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { transpileComponent } from '../lib/runtime/transpile.js';
import { DEFAULT_LIMITS } from '../lib/runtime/wire.js';
import { extensionProcesses, statusKib } from '../test/procfs.js';
import { childMain, fmt, freshDir, isMain, runChild, since, summarize, table } from './common.js';
import { copySeed, SHARED_CACHE } from './seed.js';

const FIXTURES = ['counter', 'issues'] as const;
const ISOLATIONS = ['inline', 'worker', 'process'] as const;
const REQUESTS: Record<string, FieldRequest> = {
  counter: { typeName: 'Query', fieldName: 'hello' },
  issues: { typeName: 'Query', fieldName: 'issue', arguments: { id: 1 } },
};
const MEMORY = DEFAULT_LIMITS.memoryMb * 2 ** 20;
const COPIES = 5;
/** A JS guest's linear memory grows (29 -> ~70 MiB for issues) over its first few thousand calls. */
const BUSY_CALLS = 4000;
const BUSY_REQUESTS: Record<string, FieldRequest> = {
  counter: { typeName: 'Query', fieldName: 'counter' },
  issues: { typeName: 'Query', fieldName: 'issues', arguments: { first: 50 } },
};

type Timings = Record<string, number>;
interface CallNumbers {
  seqMeanUs: number;
  seqP50Us: number;
  seqP99Us: number;
  batchFieldsPerSec: number;
  batchCallUs: number;
}
export interface RuntimeLoad {
  fixture: string;
  bytes: number;
  coreModules: number;
  coreModuleBytes: number;
  glueBytes: number;
  steps: Timings;
  load: Timings;
  calls: Record<Isolation, CallNumbers>;
}
export interface RuntimeRss {
  fixture: string;
  isolation: Isolation;
  /** Just loaded (one call each). */
  firstMiB: number;
  additionalMiB: number;
  averageMiB: number;
  /** After {@link BUSY_CALLS} calls of {@link BUSY_REQUESTS} each: the guest heaps at their working size. */
  busyAverageMiB: number;
}

async function measureLoad(fixture: string): Promise<RuntimeLoad> {
  const bytes = readFileSync(fixturePath(fixture));
  const steps: Timings = {};
  const time = async <T>(key: string, fn: () => T | Promise<T>, into = steps): Promise<T> => {
    const t = performance.now();
    const value = await fn();
    into[key] = since(t);
    return value;
  };
  await time('inspect', () => inspectComponent(bytes));
  // First transpile of this process: a worker starts, jco compiles its own wasm, transpiles.
  const cacheA = freshDir('runtime', fixture, 'cache-a');
  const compiled = await time('compiler cold, first in process (worker: jco start + transpile; write; compile)', () =>
    new ComponentCompiler(cacheA).compile(bytes, MEMORY),
  );
  const copyCache = (name: string) => {
    const dir = freshDir('runtime', fixture, name);
    cpSync(cacheA, dir, { recursive: true });
    return dir;
  };
  await time('compiler warm (disk cache hit, new compiler)', () => new ComponentCompiler(copyCache('cache-b')).compile(bytes, MEMORY));
  const modules = readdirSync(cacheA)
    .flatMap((d) => readdirSync(join(cacheA, d)).map((f) => join(cacheA, d, f)))
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => readFileSync(f));
  await time('WebAssembly.compile of the core modules', async () => {
    for (const m of modules) await WebAssembly.compile(m);
  });
  // The lifecycle, step by step, inline.
  await time('glue import', () => import(compiled.glueUrl));
  const db = new ExtensionDatabase(freshDir('runtime', fixture, 'data-steps'), fixture);
  const spec = { name: fixture, glueUrl: compiled.glueUrl, modules: compiled.modules, coreModules: compiled.coreModules, memoryLimitBytes: MEMORY, maxResponseBytes: DEFAULT_LIMITS.maxResponseBytes };
  const instance = await time('instantiate', () => GuestInstance.create(spec, db, () => {}));
  await time('init', () => instance.init());
  await time('migrate (fresh db)', () => instance.migrate());
  const sdl = await time('get-schema', () => instance.getSchema());
  // The load-time check of the SQL resolvers (@sql): parse the SDL, prepare every statement.
  const sqlFields = await time('sql-resolvers: read @sql from the SDL', () => sqlFieldsOf(sdl));
  await time(`sql-resolvers: read and check ${sqlFields.size} statements`, () => instance.useSqlResolvers(sdl, true));
  db.close();
  // jco has run in this process now: what one more component costs to transpile.
  const transpiled = await time('transpile again, main thread (jco warm)', () => transpileComponent(bytes));

  // loadExtension end to end. Each uses a fresh data directory (so migrations run). Not the
  // process's first transpile any more: see startup.ts for a really cold start.
  const load: Timings = {};
  const loadWith = (cacheDir: string, isolation: Isolation) =>
    loadExtension(bytes, { name: fixture, dataDir: freshDir('runtime', fixture, 'data'), cacheDir, isolation, logger: silentLogger });
  const keep: Record<string, Extension> = {};
  for (const isolation of ISOLATIONS) {
    await (await time(`cold ${isolation}`, () => loadWith(freshDir('runtime', fixture, `cold-${isolation}`), isolation), load)).close();
    const warmCache = copyCache(`warm-${isolation}`);
    await (await time(`warm ${isolation}`, () => loadWith(warmCache, isolation), load)).close();
    keep[isolation] = await time(`hot ${isolation}`, () => loadWith(warmCache, isolation), load);
  }

  const calls = {} as Record<Isolation, CallNumbers>;
  for (const isolation of ISOLATIONS) {
    calls[isolation] = await measureCalls(keep[isolation]!, REQUESTS[fixture]!);
    await keep[isolation]!.close();
  }
  return {
    fixture,
    bytes: bytes.length,
    coreModules: modules.length,
    coreModuleBytes: modules.reduce((n, m) => n + m.length, 0),
    glueBytes: transpiled.glue.length,
    steps,
    load,
    calls,
  };
}

/** Sequential latency (await each call) and batched throughput (500 at once, one resolve-batch). */
async function measureCalls(ext: Extension, request: FieldRequest): Promise<CallNumbers> {
  const check = await ext.resolveField(request);
  if (check === undefined) throw new Error(`${ext.name}: no answer`);
  const sequential = async (ms: number) => {
    const samples: number[] = [];
    for (const end = performance.now() + ms; performance.now() < end; ) {
      const t = performance.now();
      await ext.resolveField(request);
      samples.push((performance.now() - t) * 1000);
    }
    return samples;
  };
  // V8 tiers a 12 MB guest up over seconds: measure the steady state.
  await sequential(3000);
  const seq = summarize(await sequential(1000));
  const BATCH = 500;
  const batch = () => Promise.all(Array.from({ length: BATCH }, () => ext.resolveField(request)));
  await batch();
  const callsBefore = ext.stats.calls;
  let fields = 0;
  const t = performance.now();
  while (performance.now() - t < 1000) {
    await batch();
    fields += BATCH;
  }
  const elapsed = since(t);
  return {
    seqMeanUs: seq.mean,
    seqP50Us: seq.p50,
    seqP99Us: seq.p99,
    batchFieldsPerSec: (fields / elapsed) * 1000,
    batchCallUs: (elapsed * 1000) / (ext.stats.calls - callsBefore),
  };
}

async function measureRss(fixture: string, isolation: Isolation, seedFile: string): Promise<RuntimeRss> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const rss = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    // Process isolation: the extensions' own processes count too.
    const children = process.platform === 'linux' ? extensionProcesses().reduce((kib, pid) => kib + statusKib(pid, 'VmRSS'), 0) : 0;
    return process.memoryUsage().rss / 2 ** 20 + children / 1024;
  };
  const bytes = readFileSync(fixturePath(fixture));
  const dataDir = freshDir('runtime', `rss-${fixture}-${isolation}`);
  const loaded: Extension[] = [];
  const loadOne = async (i: number) => {
    if (fixture === 'issues') copySeed(seedFile, dataDir, `${fixture}${i}`);
    const ext = await loadExtension(bytes, { name: `${fixture}${i}`, dataDir, cacheDir: SHARED_CACHE, isolation, logger: silentLogger });
    await ext.resolveField(REQUESTS[fixture]!);
    loaded.push(ext);
  };
  const rss0 = await rss();
  await loadOne(1);
  const rss1 = await rss();
  for (let i = 2; i <= COPIES; i++) await loadOne(i);
  const rssN = await rss();
  for (const ext of loaded) for (let i = 0; i < BUSY_CALLS; i++) await ext.resolveField(BUSY_REQUESTS[fixture]!);
  const rssBusy = await rss();
  for (const ext of loaded) await ext.close();
  return {
    fixture,
    isolation,
    firstMiB: rss1 - rss0,
    additionalMiB: (rssN - rss1) / (COPIES - 1),
    averageMiB: (rssN - rss0) / COPIES,
    busyAverageMiB: (rssBusy - rss0) / COPIES,
  };
}

export async function runRuntime(seedFile: string): Promise<{ load: RuntimeLoad[]; rss: RuntimeRss[] }> {
  // The RSS children load from the shared cache: fill it first so they never transpile.
  for (const fixture of FIXTURES) await new ComponentCompiler(SHARED_CACHE).compile(readFileSync(fixturePath(fixture)), MEMORY);
  const load: RuntimeLoad[] = [];
  const rss: RuntimeRss[] = [];
  for (const fixture of FIXTURES) {
    load.push(await runChild<RuntimeLoad>('runtime.js', ['load', fixture]));
    for (const isolation of ISOLATIONS) {
      rss.push(await runChild<RuntimeRss>('runtime.js', ['rss', fixture, isolation, seedFile], ['--expose-gc']));
    }
    console.error(`  runtime ${fixture} done`);
  }
  return { load, rss };
}

export function runtimeReport({ load, rss }: { load: RuntimeLoad[]; rss: RuntimeRss[] }): string {
  const stepKeys = [...new Set(load.flatMap((l) => Object.keys(l.steps)))];
  const loadKeys = [...new Set(load.flatMap((l) => Object.keys(l.load)))];
  const cols = load.map((l) => `${l.fixture} (${fmt(l.bytes / 1024)} KiB, ${l.coreModules} core modules ${fmt(l.coreModuleBytes / 1024)} KiB, glue ${fmt(l.glueBytes / 1024)} KiB)`);
  return [
    'Load pipeline, step by step (ms, fresh process each; instantiate..get-schema inline):',
    '',
    table(['step', ...cols], stepKeys.map((k) => [k, ...load.map((l) => l.steps[k])])),
    '',
    '`loadExtension` end to end (ms). cold: empty cache dir (but jco already ran in this process: see section 3 for a first start); warm: cache on disk, new compiler; hot: same process, compiled modules in memory. Fresh data dir each (migrations run):',
    '',
    table(['loadExtension', ...load.map((l) => l.fixture)], loadKeys.map((k) => [k, ...load.map((l) => l.load[k])])),
    '',
    'Per call (µs): sequential awaited `resolveField` (counter: `hello`; issues: `issue(id: 1)`), and batches of 500 concurrent calls (one `resolve-batch` each):',
    '',
    table(
      ['fixture', 'isolation', 'seq mean µs', 'seq p50 µs', 'seq p99 µs', 'batched fields/s', 'µs per batch call'],
      load.flatMap((l) => ISOLATIONS.filter((i) => l.calls[i]).map((i) => [l.fixture, i, l.calls[i].seqMeanUs, l.calls[i].seqP50Us, l.calls[i].seqP99Us, l.calls[i].batchFieldsPerSec, l.calls[i].batchCallUs])),
    ),
    '',
    `RSS per loaded extension (MiB; ${COPIES} copies, different names, same bytes; process RSS after GC, threads included, plus the RSS of the extension processes in process isolation). "busy": after ${BUSY_CALLS} calls each (counter: \`counter\`; issues: \`issues(first: 50)\`), when a JS guest's heap has grown to its working size:`,
    '',
    table(
      ['fixture', 'isolation', 'first copy', 'each further copy', `average of ${COPIES}`, `average of ${COPIES}, busy`],
      rss.map((r) => [r.fixture, r.isolation, r.firstMiB, r.additionalMiB, r.averageMiB, r.busyAverageMiB]),
    ),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const [what, fixture, isolation, seedFile] = process.argv.slice(2) as [string, string, Isolation, string];
  childMain(() => (what === 'rss' ? measureRss(fixture, isolation, seedFile) : what === 'calls' ? measureCallsOnly(fixture, isolation) : measureLoad(fixture)));
}

/** Just the per-call numbers of one isolation (`calls <fixture> <isolation>`): the quick look, without the load pipeline. */
async function measureCallsOnly(fixture: string, isolation: Isolation): Promise<CallNumbers & { isolation: Isolation; fixture: string }> {
  await new ComponentCompiler(SHARED_CACHE).compile(readFileSync(fixturePath(fixture)), MEMORY);
  const ext = await loadExtension(readFileSync(fixturePath(fixture)), {
    name: fixture,
    dataDir: freshDir('runtime', fixture, `calls-${isolation}`),
    cacheDir: SHARED_CACHE,
    isolation,
    logger: silentLogger,
  });
  try {
    return { fixture, isolation, ...(await measureCalls(ext, REQUESTS[fixture]!)) };
  } finally {
    await ext.close();
  }
}
