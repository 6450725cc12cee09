/**
 * `isolation: 'worker'`: the instance runs in its own worker thread (see remote-backend.ts for
 * the protocol and deadlines). Cheaper than a process, but a thread cannot be stopped while it
 * is inside SQLite (WiseLibs/better-sqlite3#842 aborts the process), so a deadline stops the
 * thread only once it is outside native database code (native-guard.ts): a runaway statement
 * keeps its core busy until it ends.
 */
import { Worker } from 'node:worker_threads';
import type { Backend, BackendSpec } from './backend.js';
import { createNativeFlag, insideNative, terminateOutsideNative } from './native-guard.js';
import { RemoteBackend, type Runner, type RunnerEvents } from './remote-backend.js';
import type { GuestLogLine } from './wire.js';

/** Longest wait for an idle worker to close its database and exit, before it is terminated. */
const CLOSE_GRACE_MS = 1000;

export function workerBackend(spec: BackendSpec, log: (line: GuestLogLine) => void): Backend {
  return new RemoteBackend((events) => spawnWorker(spec, events), spec.timeoutMs, log, spec.sdl);
}

function spawnWorker(spec: BackendSpec, events: RunnerEvents): Runner {
  const nativeFlag = createNativeFlag();
  const worker = new Worker(new URL('./extension-worker.js', import.meta.url), {
    // The compiled modules are shared with the thread; their bytes are not needed there.
    workerData: { spec: { ...spec, coreModules: {} }, nativeFlag },
    // The guest's linear memory is capped separately (limits.memoryMb); this bounds the glue's
    // JavaScript heap, so a runaway cannot take the whole process down.
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
  });
  let stopping: Promise<void> | undefined;
  const kill = () => (stopping ??= terminateOutsideNative(nativeFlag, () => worker.terminate()));
  worker.on('message', events.message);
  worker.on('error', (e) => events.died({ code: e.message.includes('out of memory') ? 'EXTENSION_MEMORY_LIMIT' : 'EXTENSION_CRASHED', message: `the extension's worker failed: ${e.message}` }));
  worker.on('exit', (code) => events.died({ code: 'EXTENSION_CRASHED', message: `the extension's worker exited (code ${code})` }));
  return {
    post: (msg) => worker.postMessage(msg),
    kill,
    async close(busy) {
      if (insideNative(nativeFlag)) {
        // A statement is running: the thread cannot be joined until it ends. Do not wait for it,
        // and do not let it keep the process alive; it is terminated when the statement ends.
        worker.unref();
        void kill();
        return;
      }
      if (!busy) {
        worker.postMessage({ id: 0, op: 'close' });
        const exited = await Promise.race([
          new Promise<boolean>((resolve) => worker.once('exit', () => resolve(true))),
          new Promise<boolean>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS, false).unref()),
        ]);
        if (exited) return;
      }
      worker.unref();
      await Promise.race([kill(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
    },
  };
}
