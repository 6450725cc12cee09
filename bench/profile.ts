/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. `BENCH_CPU_PROF=inline npm run
 * bench`): where the process's time went, by category (self time), the top functions by self
 * time, and the inclusive time of the frames that mark the layers (HTTP, GraphQL execution, an
 * extension call, the guest).
 *
 *   node dist/bench/profile.js <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { isMain, table } from './common.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The layer a frame belongs to, from its script URL and name. */
export function category(frame: CallFrame): string {
  const { url, functionName: fn } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC (host V8)';
  if (fn === '(program)' || fn === '(root)') return 'native / unattributed';
  if (url.startsWith('wasm://') || /^\$?(func|wasm-function)/.test(fn)) return 'guest (wasm)';
  if (url.endsWith('/glue.mjs')) return 'jco glue';
  if (url.includes('/dist/lib/')) return 'forge-extensions (ours)';
  if (url.includes('/dist/bench/')) return 'bench resolvers';
  if (url.includes('/node_modules/graphql/')) return 'graphql (parse/validate/execute)';
  if (url.includes('/node_modules/graphql-http/')) return 'graphql-http';
  if (url.includes('/node_modules/@graphql-tools/')) return 'graphql-tools';
  if (url.includes('/node_modules/better-sqlite3/')) return 'better-sqlite3 (JS)';
  if (url.includes('/node_modules/')) return 'express & other deps';
  if (url.startsWith('node:internal/worker') || url.includes('worker_threads') || url.includes('internal/per_context/messageport')) return 'worker messaging';
  if (url.startsWith('node:')) return 'node core (http, net, streams)';
  if (url === '') {
    // Native functions have no script: name them by what they are.
    if (['all', 'get', 'run', 'iterate', 'exec', 'pragma', 'prepare'].includes(fn)) return 'SQLite (better-sqlite3 native)';
    if (/^write|^read|^close$|^onStreamRead/.test(fn)) return 'node core (http, net, streams)';
    if (['parse', 'stringify'].includes(fn)) return 'JSON (host)';
    if (['decode', 'encode', 'encodeInto', 'toString', 'from'].includes(fn)) return 'text/Buffer (host)';
    if (fn === 'runMicrotasks') return 'promises (microtask queue)';
    if (fn === 'postMessage' || fn === 'receiveMessageOnPort') return 'worker messaging';
    return 'builtins (other)';
  }
  return 'other';
}

/** Markers: inclusive time of any frame whose name matches, counted once per sample. */
const MARKERS: Array<[string, (f: CallFrame) => boolean]> = [
  ['graphql execute (incl. resolvers)', (f) => f.functionName === 'execute' && f.url.includes('/graphql/execution/')],
  ['graphql validate', (f) => f.functionName === 'validate' && f.url.includes('/graphql/validation/')],
  ['graphql parse', (f) => f.functionName === 'parse' && f.url.includes('/graphql/language/')],
  ['JSON.stringify (host)', (f) => f.functionName === 'stringify' && f.url === ''],
  ['JSON.parse (host)', (f) => f.functionName === 'parse' && f.url === ''],
  ['GuestInstance.resolve (guest call, incl. host imports)', (f) => f.functionName === 'resolve' && f.url.includes('/runtime/instance.js')],
  ['host import database.query', (f) => f.functionName === 'query' && f.url.includes('/data/database.js')],
  ['worker postMessage', (f) => f.functionName === 'postMessage'],
];

export function summarize(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // ms
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    busy += dt;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const frame = byId.get(n)!.callFrame;
      for (const [label, match] of MARKERS) if (!seen.has(label) && match(frame)) seen.add(label);
    }
    for (const label of seen) inclusive.set(label, (inclusive.get(label) ?? 0) + dt);
  });
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    const cat = category(frame);
    categories.set(cat, (categories.get(cat) ?? 0) + ms);
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where} [${cat}]`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const pct = (ms: number, of: number) => `${((100 * ms) / of).toFixed(1)}%`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `${file}: ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (one thread: a --cpu-prof file per thread, or the main thread for the per-scenario profiles).`,
    '',
    table(['category (self time)', 'ms', '% of busy'], sorted(categories).filter(([c]) => c !== 'idle').map(([c, ms]) => [c, ms, pct(ms, busy)])),
    '',
    table(['marker (inclusive)', 'ms', '% of busy'], sorted(inclusive).map(([c, ms]) => [c, ms, pct(ms, busy)])),
    '',
    table(['function (self time)', 'ms', '% of busy'], sorted(functions).filter(([f]) => !f.startsWith('(idle)')).slice(0, top).map(([f, ms]) => [f, ms, pct(ms, busy)])),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: node dist/bench/profile.js <file.cpuprofile> [top]');
  console.log(summarize(file, Number(top ?? 25)));
}
