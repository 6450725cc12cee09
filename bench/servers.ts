/**
 * One HTTP server variant, run as a child process of `http.ts` (via {@link startServer}) so the
 * load generator (autocannon, in the parent) does not share this event loop:
 *
 *   node dist/bench/servers.js <variant> <dataDir> <extensionsDir> <cacheDir>
 *
 * - `plain`:         graphql-http's Express handler + hand-written resolvers (plain-server.ts)
 * - `plain-batched`: the same with a DataLoader-style comments loader
 * - `native`:        the same resolvers as the base schema of our middleware, no extension
 * - `inline`/`worker`: the `issues` extension through our middleware in that isolation
 * - `worker-2`:      the same with two worker instances (`workers: 2`)
 * - `process`:       the `issues` extension in process isolation (the default)
 * - `inline-guest`, `worker-guest`, `process-guest`: the same, with the extension's config
 *   `guestResolvers: true` (its SDL without `@sql`: every field runs the guest's own resolver)
 *
 * Express, no body parser (both handlers read the stream), NODE_ENV=production, listening on
 * 127.0.0.1:0. Tells the parent `{ type: 'ready', url }`; answers `{ type: 'cpu' }` with its CPU
 * time and event-loop utilisation; profiles its main thread between `{ type: 'profile-start' }`
 * and `{ type: 'profile-stop', file }` (node:inspector); exits on `{ type: 'close' }`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { createHandler } from 'graphql-http/lib/use/express';
import { forgeExtensions } from '../lib/index.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { HERE, isMain, settings, WORK } from './common.js';
import { plainSchema } from './plain-server.js';

export const VARIANTS = ['plain', 'plain-batched', 'native', 'inline', 'worker', 'worker-2', 'process', 'inline-guest', 'worker-guest', 'process-guest'] as const;
export type Variant = (typeof VARIANTS)[number];

async function main(): Promise<void> {
  const [variant, dataDir, extDir, cacheDir] = process.argv.slice(2) as [Variant, string, string, string];
  const dbFile = join(dataDir, 'forge_ext_issues.db');
  const app = express();
  let close = async () => {};
  switch (variant) {
    case 'plain':
    case 'plain-batched': {
      const { schema, context } = plainSchema(dbFile, variant === 'plain' ? 'naive' : 'batched');
      app.use('/graphql', createHandler({ schema, context: () => context() as Record<string, unknown> }));
      break;
    }
    case 'native':
    case 'inline':
    case 'worker':
    case 'worker-2':
    case 'process':
    case 'inline-guest':
    case 'worker-guest':
    case 'process-guest': {
      const guest = variant.endsWith('-guest');
      const forge = forgeExtensions(extDir, {
        ...(variant === 'native'
          ? { schema: plainSchema(dbFile).schema }
          : variant === 'worker-2'
            ? { isolation: 'worker' as const, workers: 2 }
            : { isolation: variant.replace('-guest', '') as 'inline' | 'worker' | 'process' }),
        ...(guest ? { extensions: { issues: { config: { guestResolvers: true } } } } : {}),
        dataDir,
        cacheDir,
        watch: false,
        graphiql: false,
        logger: silentLogger,
      });
      app.use('/graphql', forge);
      await forge.host.ready();
      const failed = forge.host.status().filter((s) => s.state !== 'ready');
      if (failed.length) throw new Error(`extensions not ready: ${JSON.stringify(failed)}`);
      close = () => forge.host.close();
      break;
    }
    default:
      throw new Error(`unknown variant ${variant} (known: ${VARIANTS.join(', ')})`);
  }
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const profiler = new Session();
  profiler.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => profiler.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  process.on('message', (msg: { type: string; file?: string }) => {
    if (msg.type === 'profile-start') {
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
        .then(() => post('Profiler.start'))
        .then(() => process.send!({ type: 'profile-started' }));
    } else if (msg.type === 'profile-stop') {
      void post('Profiler.stop').then((r) => {
        writeFileSync(msg.file!, JSON.stringify((r as { profile: unknown }).profile));
        process.send!({ type: 'profile-stopped' });
      });
    } else if (msg.type === 'cpu') {
      process.send!({ type: 'cpu', usage: process.cpuUsage(), elu: performance.eventLoopUtilization() });
    } else if (msg.type === 'close') {
      server.closeAllConnections();
      server.close();
      void close().finally(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', url });
}

export interface CpuSample {
  usage: NodeJS.CpuUsage;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
}

/** In the parent: starts `servers.js <variant> ...` in a child process and waits for its URL. */
export async function startServer(
  variant: Variant,
  args: string[],
): Promise<{ url: string; pid: number; cpu(): Promise<CpuSample>; profile(action: 'start' | 'stop', file: string): Promise<void>; close(): Promise<void> }> {
  // Profiled: every thread for its whole life (--cpu-prof, worker threads included), plus the
  // main thread during the measured rounds only (see `profile`).
  const execArgv = settings.cpuProf === variant ? ['--cpu-prof', '--cpu-prof-dir', join(WORK, 'prof')] : [];
  if (execArgv.length) mkdirSync(join(WORK, 'prof'), { recursive: true });
  // NODE_ENV=production as in a deployment: graphql-js drops its development-mode checks
  // (its `instanceOf` alone is 2-9% of a server's profile otherwise).
  const child: ChildProcess = fork(join(HERE, 'servers.js'), [variant, ...args], {
    execArgv,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, { resolve: (msg: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  child.on('message', (msg: Record<string, unknown>) => {
    if (msg['type'] === 'error') return failAll(new Error(`server ${variant}: ${String(msg['message'])}`));
    const w = waiting.get(String(msg['type']));
    waiting.delete(String(msg['type']));
    w?.resolve(msg);
  });
  child.on('exit', (code) => failAll(new Error(`server ${variant} exited (${code})`)));
  const next = (type: string) => new Promise<Record<string, unknown>>((resolve, reject) => waiting.set(type, { resolve, reject }));
  const url = String((await next('ready'))['url']);
  return {
    url,
    pid: child.pid!,
    profile: async (action: 'start' | 'stop', file: string) => {
      const reply = next(action === 'start' ? 'profile-started' : 'profile-stopped');
      child.send({ type: `profile-${action}`, file });
      await reply;
    },
    cpu: async () => {
      const reply = next('cpu');
      child.send({ type: 'cpu' });
      return (await reply) as unknown as CpuSample;
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      await exited;
    },
  };
}

if (isMain(import.meta.url)) {
  main().catch((e: Error) => {
    process.send?.({ type: 'error', message: e.stack ?? String(e) });
    process.exit(1);
  });
}

