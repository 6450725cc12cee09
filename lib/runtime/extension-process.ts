/**
 * Child process entry for `isolation: 'process'`: owns one extension instance and its database
 * connection, and runs the same request loop as a worker thread (instance-server.ts). The host
 * SIGKILLs this process at a deadline: SQLite's WAL then discards the unfinished transaction.
 *
 * It never outlives the host: it exits when the IPC channel closes, and a watchdog thread kills
 * it when the parent is gone even while the main thread is stuck inside a SQLite statement
 * (where no event can run).
 */
import { Worker } from 'node:worker_threads';
import type { BackendSpec } from './backend.js';
import { serveInstance, type InstanceReply, type InstanceRequest } from './instance-server.js';
import { limitMemory } from './memory-limit.js';
import { NativeGuard } from './native-guard.js';
import { WATCHDOG_RESOURCE_LIMITS } from './wire.js';

/** {@link BackendSpec} as it crosses the IPC channel: compiled modules cannot, their verified bytes can. */
export type ProcessSpec = Omit<BackendSpec, 'modules'>;

process.title = 'forge-extension';

const parent = process.ppid;
new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);`,
  { eval: true, workerData: parent, resourceLimits: WATCHDOG_RESOURCE_LIMITS },
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

/** Compiles the verified core-module bytes the host sent (memory cap applied, as the host does). */
async function compileSpec(wire: ProcessSpec): Promise<BackendSpec> {
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [file, code] of Object.entries(wire.coreModules)) {
    modules[file] = await WebAssembly.compile(limitMemory(code, wire.memoryLimitBytes));
  }
  process.title = `forge-extension ${wire.name}`;
  return { ...wire, modules };
}
