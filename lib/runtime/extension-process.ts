/**
 * Child process entry for `isolation: 'process'`: owns one extension instance and its database
 * connection, and runs the same request loop as a worker thread (instance-server.ts). The host
 * SIGKILLs this process at a deadline: SQLite's WAL then discards the unfinished transaction.
 *
 * It never outlives the host: it exits when the IPC channel closes, and a watchdog thread kills
 * it when the parent is gone even while the main thread is stuck inside a SQLite statement
 * (where no event can run).
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { BackendSpec } from './backend.js';
import { serveInstance, type InstanceReply, type InstanceRequest } from './instance-server.js';
import { limitMemory } from './memory-limit.js';
import { NativeGuard } from './native-guard.js';
import { textReply } from './process-channel.js';
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

/** `limits.processMemoryMb`, once the spec has arrived. */
let processMemoryMb: number | undefined;

serveInstance(
  {
    send: (reply: InstanceReply) => void process.send?.(textReply(explainFailure(reply))),
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
  processMemoryMb = wire.processMemoryMb;
  return { ...wire, modules };
}

/**
 * A guest that traps because its `memory.grow` failed at this process's OS cap (RLIMIT_DATA),
 * with its memory below `limits.memoryMb`, looks like any trap to the instance (the engine just
 * answers -1; the guest gives up with `unreachable`). Only the process knows its cap: a crash
 * while the process has less than a tenth of `processMemoryMb` left under it is reported as the
 * process's memory limit (the rule the instance applies to a guest at 90 % of `memoryMb`). Seen
 * on Node 26, whose runtime takes ~1.1 GiB of the cap: a heavy call's answers, the guest's
 * memory and the JavaScript heap together reached it.
 */
function explainFailure(reply: InstanceReply): InstanceReply {
  if (!('failure' in reply) || reply.failure.code !== 'EXTENSION_CRASHED' || processMemoryMb === undefined) return reply;
  const headroomKib = dataHeadroomKib();
  if (headroomKib === undefined || headroomKib >= (processMemoryMb * 1024) / 10) return reply;
  const message = `the extension's process reached its memory cap (limits.processMemoryMb: ${processMemoryMb} MiB beyond the Node runtime's own): ${reply.failure.message}`;
  return { ...reply, failure: { code: 'EXTENSION_PROCESS_MEMORY_LIMIT', message } };
}

/** KiB this process may still commit under RLIMIT_DATA (Linux /proc), or undefined when unknown or unlimited. */
function dataHeadroomKib(): number | undefined {
  try {
    const limit = /^Max data size\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    const used = /^VmData:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return limit === undefined || used === undefined ? undefined : Number(limit) / 1024 - Number(used);
  } catch {
    return undefined;
  }
}
