/**
 * Child process entry for `isolation: 'process'`: owns one extension instance and its database
 * connection, and runs the same request loop as a worker thread (instance-server.ts). The host
 * SIGKILLs this process at a deadline: SQLite's WAL then discards the unfinished transaction.
 *
 * It never outlives the host: it exits when the IPC channel closes, and a watchdog thread kills
 * it when the parent is gone even while the main thread is stuck inside a SQLite statement
 * (where no event can run).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendSpec } from './backend.js';
import { serveInstance, type InstanceReply, type InstanceRequest } from './instance-server.js';
import { limitMemory } from './memory-limit.js';
import { NativeGuard } from './native-guard.js';

/** {@link BackendSpec} as it crosses the IPC channel: compiled modules cannot, their file names can. */
export type ProcessSpec = Omit<BackendSpec, 'modules'> & { moduleFiles: string[] };

process.title = 'forge-extension';

const parent = process.ppid;
new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);`,
  { eval: true, workerData: parent, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } },
).unref();
process.on('disconnect', () => process.exit(0));

serveInstance(
  {
    send: (reply: InstanceReply) => void process.send?.(reply),
    onMessage: (handler) => process.on('message', (msg) => handler(msg as InstanceRequest)),
  },
  (msg) => compileSpec(msg.spec as ProcessSpec),
  new NativeGuard(),
  () => process.exit(0),
);

/** Compiles the core modules from the transpile cache (memory cap applied, as the host does). */
async function compileSpec(wire: ProcessSpec): Promise<BackendSpec> {
  const { moduleFiles, ...rest } = wire;
  const dir = dirname(fileURLToPath(wire.glueUrl));
  const modules: Record<string, WebAssembly.Module> = {};
  for (const file of moduleFiles) {
    modules[file] = await WebAssembly.compile(limitMemory(await readFile(join(dir, file)), wire.memoryLimitBytes));
  }
  process.title = `forge-extension ${wire.name}`;
  return { ...rest, modules };
}
