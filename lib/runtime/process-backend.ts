/**
 * `isolation: 'process'` (the default): the instance runs in its own child process that owns
 * its database connection (see remote-backend.ts for the protocol and deadlines). A deadline is
 * SIGKILL of that process, which stops anything, a runaway SQLite statement included.
 *
 * What the child gets, and nothing more:
 * - an empty environment (no secret of the host's environment, no NODE_OPTIONS) and no
 *   command-line flags of the host's (no --inspect, no --require);
 * - no stdin or stdout; its stderr is read by the host (the tail explains a crash);
 * - a JavaScript heap of {@link JS_HEAP_MB} MiB (as a worker's), and on POSIX systems an OS cap
 *   on all memory it may commit (RLIMIT_DATA): what a bare Node process of the same binary and
 *   flags reserves at start ({@link nodeBaselineKb}), plus `limits.processMemoryMb` for the
 *   guest's linear memory, the JavaScript heap and SQLite's heap together.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Backend, BackendSpec } from './backend.js';
import type { ProcessSpec } from './extension-process.js';
import { RemoteBackend, type Runner, type RunnerEvents } from './remote-backend.js';
import { WATCHDOG_RESOURCE_LIMITS, type CallFailure, type GuestLogLine } from './wire.js';

/** The JavaScript heap of an extension process, as a worker's `maxOldGenerationSizeMb`. */
export const JS_HEAP_MB = 256;
/** Longest wait for an idle process to close its database and exit, before SIGKILL. */
const CLOSE_GRACE_MS = 1000;
/** How much of the child's stderr is kept, to explain a crash. */
const STDERR_TAIL = 4096;

const ENTRY = fileURLToPath(new URL('./extension-process.js', import.meta.url));

/** Every live extension process: killed if the host exits without closing them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The spec's `processMemoryMb` is the child's OS memory cap (`limits.processMemoryMb`). */
export function processBackend(spec: BackendSpec & { processMemoryMb: number }, log: (line: GuestLogLine) => void): Backend {
  const { modules: _compiled, ...wire } = spec;
  return new RemoteBackend((events) => spawnProcess(wire, spec.processMemoryMb, events), spec.timeoutMs, log, spec.sdl);
}

/**
 * VmData (KiB) of a bare Node process started as the children are, with its watchdog thread
 * running: what the runtime itself reserves before any extension code runs. It differs by Node
 * line (measured: ~55 MiB on Node 20; ~1.1 GiB on Node 26, which counts V8's code range of each
 * thread as data: with less, it aborts at start with "Failed to reserve virtual memory for
 * CodeRange"), so it is measured, once per host process, rather than assumed. Blocks the first
 * process start for one Node start-up (~50 ms). 0 where /proc is missing (the cap is then
 * `processMemoryMb` alone).
 */
let baselineKb: number | undefined;
export function nodeBaselineKb(): number {
  if (baselineKb !== undefined) return baselineKb;
  const probe = `new (require('node:worker_threads').Worker)('', { eval: true, resourceLimits: ${JSON.stringify(WATCHDOG_RESOURCE_LIMITS)} }).on('online', () => {
    process.stdout.write(/VmData:\\s*(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0');
    process.exit(0);
  })`;
  try {
    baselineKb = Number(execFileSync(process.execPath, [`--max-old-space-size=${JS_HEAP_MB}`, '-e', probe], { env: {}, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] })) || 0;
  } catch {
    baselineKb = 0;
  }
  return baselineKb;
}

function spawnProcess(spec: ProcessSpec, processMemoryMb: number, events: RunnerEvents): Runner {
  const node = [process.execPath, `--max-old-space-size=${JS_HEAP_MB}`, ENTRY];
  // RLIMIT_DATA through the shell's `ulimit -d` (KiB), then exec: the limit holds from the
  // child's first instruction. Windows has no such limit: the child runs without it.
  const [command, ...args] =
    process.platform === 'win32'
      ? node
      : ['/bin/sh', '-c', 'ulimit -d "$1" 2>/dev/null; shift; unset PWD; exec "$@"', 'sh', String(nodeBaselineKb() + processMemoryMb * 1024), ...node];
  const child = spawn(command!, args, {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
    env: {},
    windowsHide: true,
  });
  live.add(child);
  let stderr = '';
  let ended = false;
  let killed = false;
  let onEnd!: () => void;
  const exited = new Promise<void>((resolve) => (onEnd = resolve));
  const end = (failure: () => CallFailure): void => {
    if (ended) return;
    ended = true;
    live.delete(child);
    onEnd();
    if (!killed) events.died(failure());
  };
  // Listen for errors first: a spawn that fails (EMFILE when file descriptors run out, EAGAIN,
  // ENOENT without /bin/sh) emits 'error', never 'exit', and has no stdio streams.
  child.on('error', (e) => {
    if (child.pid === undefined) return end(() => ({ code: 'EXTENSION_CRASHED', message: `the extension's process could not start: ${e.message}` }));
    if (!killed) events.died({ code: 'EXTENSION_CRASHED', message: `the extension's process failed: ${e.message}` });
  });
  child.once('exit', (code, signal) => end(() => exitFailure(code, signal, stderr, processMemoryMb)));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL)));
  child.on('message', (msg) => events.message(msg as Parameters<RunnerEvents['message']>[0]));

  const kill = (): Promise<void> => {
    killed = true;
    if (!ended) child.kill('SIGKILL');
    return exited;
  };
  // Without a channel (the spawn failed, or the process is gone) 'error' or 'exit' reports it.
  const send = (msg: object): void => void (child.connected && child.send(msg));
  let first = true;
  return {
    post: (msg) => {
      // The first message is always `start`: the spec travels with it.
      send(first ? { ...msg, spec } : msg);
      first = false;
    },
    kill,
    async close(busy) {
      if (ended) return;
      if (!busy) {
        killed = true;
        send({ id: 0, op: 'close' });
        const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(timer);
        return;
      }
      await kill();
    },
  };
}

function exitFailure(code: number | null, signal: NodeJS.Signals | null, stderr: string, processMemoryMb: number): CallFailure {
  const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
  if (/out of memory/i.test(stderr)) {
    return {
      code: 'EXTENSION_PROCESS_MEMORY_LIMIT',
      message: `the extension's process ran out of memory (JavaScript heap ${JS_HEAP_MB} MiB, process ${processMemoryMb} MiB beyond the Node runtime's own: limits.processMemoryMb) and ${how}`,
    };
  }
  return { code: 'EXTENSION_CRASHED', message: `the extension's process ${how}` };
}
