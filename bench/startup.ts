/**
 * Cold start to the first response (issue 7): from creating the middleware to the first
 * successful answer to a query that touches every extension, in a fresh process each time.
 *
 * - 1 extension: `issues` (the seeded database), `{ issue(id: 1) { id title } }`.
 * - 10 extensions: ten copies of the JS `probe` fixture, each with a distinct custom section (so
 *   ten distinct sha256s: a cold start transpiles ten components, as ten different extensions
 *   would) and its own field from its config (`p0` .. `p9`; copies of one extension cannot share
 *   root field names), `{ p0 p1 ... p9 }`.
 * - cold: empty cache dir and data dir (first start ever); warm: the cache and data the cold
 *   run left (a restart). The request is sent as soon as the server listens; the handler waits
 *   for the initial load (`host.ready()`) before answering.
 *
 *   node dist/bench/startup.js '<json options>'     (one measurement, reported to the parent)
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { fixturePath } from '../fixtures/build.js';
import { forgeExtensions, type Isolation } from '../lib/index.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { childMain, freshDir, graphql, isMain, runChild, since, table, withCustomSection } from './common.js';
import { copySeed } from './seed.js';

/** Set before anything else runs in this module: node start-up plus every import. */
const importedAt = performance.now();

interface StartupOptions {
  extDir: string;
  dataDir: string;
  cacheDir: string;
  isolation: Isolation;
  query: string;
  extensions: Record<string, { config: unknown }>;
}
export interface StartupResult {
  case: string;
  isolation: Isolation;
  cache: 'cold' | 'warm';
  /** Process start to the end of module loading (node + imports), ms. */
  processToImported: number;
  /** Middleware created to `host.ready()`, ms. */
  ready: number;
  /** Middleware created to the first successful response, ms. */
  firstResponse: number;
  /** Process start to the first successful response, ms. */
  processToFirstResponse: number;
  /** Peak RSS of the process (transpile workers included), MiB. */
  peakRssMiB: number;
}

async function measure(o: StartupOptions): Promise<Omit<StartupResult, 'case' | 'isolation' | 'cache'>> {
  const t0 = performance.now();
  const forge = forgeExtensions(o.extDir, {
    dataDir: o.dataDir,
    cacheDir: o.cacheDir,
    isolation: o.isolation,
    extensions: o.extensions,
    watch: false,
    graphiql: false,
    logger: silentLogger,
  });
  let ready = NaN;
  void forge.host.ready().then(() => (ready = since(t0)));
  const app = express();
  app.use('/graphql', forge);
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  await graphql(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, o.query);
  const firstResponse = since(t0);
  const processToFirstResponse = performance.now();
  server.closeAllConnections();
  server.close();
  await forge.host.close();
  return { processToImported: importedAt, ready, firstResponse, processToFirstResponse, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

export async function runStartup(seedFile: string): Promise<StartupResult[]> {
  const cases: Array<{ name: string; prepare: (extDir: string, dataDir: string) => void; query: string; extensions: StartupOptions['extensions'] }> = [
    {
      name: '1 extension (issues)',
      prepare: (extDir, dataDir) => {
        copyFileSync(fixturePath('issues'), join(extDir, 'issues.wasm'));
        copySeed(seedFile, dataDir);
      },
      query: '{ issue(id: 1) { id title } }',
      extensions: {},
    },
    {
      name: '10 extensions (10 distinct probe builds)',
      prepare: (extDir) => {
        const probe = readFileSync(fixturePath('probe'));
        for (let k = 0; k < 10; k++) writeFileSync(join(extDir, `probe${k}.wasm`), withCustomSection(probe, `probe${k}`));
      },
      query: `{ ${Array.from({ length: 10 }, (_, k) => `p${k}`).join(' ')} }`,
      extensions: Object.fromEntries(
        Array.from({ length: 10 }, (_, k) => [`probe${k}`, { config: { sdl: `extend type Query { p${k}: String! }`, answers: { [`Query.p${k}`]: `from probe${k}` } } }]),
      ),
    },
  ];
  const results: StartupResult[] = [];
  for (const c of cases) {
    for (const isolation of ['worker', 'inline'] as const) {
      const slug = `${c.name.split(' ')[0]}-${isolation}`;
      const extDir = freshDir('startup', slug, 'extensions');
      const dataDir = freshDir('startup', slug, 'data');
      const cacheDir = freshDir('startup', slug, 'cache');
      c.prepare(extDir, dataDir);
      for (const cache of ['cold', 'warm'] as const) {
        const options: StartupOptions = { extDir, dataDir, cacheDir, isolation, query: c.query, extensions: c.extensions };
        const r = await runChild<StartupResult>('startup.js', [JSON.stringify(options)]);
        results.push({ ...r, case: c.name, isolation, cache });
        console.error(`  startup ${c.name}, ${isolation}, ${cache}: first response after ${r.firstResponse.toFixed(0)} ms`);
      }
    }
  }
  return results;
}

export function startupReport(results: StartupResult[]): string {
  return [
    'Time to the first successful response (ms), one fresh process per row. "process start" columns add node start-up and module loading.',
    '',
    table(
      ['case', 'isolation', 'cache', 'middleware → ready', 'middleware → first response', 'process start → imports done', 'process start → first response', 'peak RSS MiB'],
      results.map((r) => [r.case, r.isolation, r.cache, r.ready, r.firstResponse, r.processToImported, r.processToFirstResponse, r.peakRssMiB]),
    ),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  childMain(() => measure(JSON.parse(process.argv[2]!) as StartupOptions));
}
