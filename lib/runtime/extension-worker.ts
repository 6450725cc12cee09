/**
 * Worker thread entry for `isolation: 'worker'`: owns one extension's instance and database
 * connection. The main thread may terminate this thread at any moment (deadline); SQLite then
 * discards any transaction it left unfinished.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startInstance, type BackendSpec } from './backend.js';
import { InstanceCallError, type GuestInstance } from './instance.js';
import type { GuestLogLine, WireRequest } from './wire.js';

/** Messages the main thread sends. */
export type WorkerRequest =
  | { id: number; op: 'start'; restart: boolean }
  | { id: number; op: 'resolve'; requests: WireRequest[]; write: boolean };

/** Messages this worker sends. */
export type WorkerReply =
  | { id: number; ok: unknown }
  | { id: number; failure: InstanceCallError['failure']; step?: string }
  | { log: GuestLogLine };

const spec = workerData as BackendSpec;
const port = parentPort!;
const log = (line: GuestLogLine): void => port.postMessage({ log: line } satisfies WorkerReply);
let instance: GuestInstance | undefined;

port.on('message', async (msg: WorkerRequest) => {
  try {
    if (msg.op === 'start') {
      const started = await startInstance(spec, log, msg.restart);
      instance = started.instance;
      port.postMessage({ id: msg.id, ok: started.sdl } satisfies WorkerReply);
    } else {
      if (!instance) throw new InstanceCallError({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension is not started' });
      const results = instance.resolve(msg.requests, msg.write);
      port.postMessage({ id: msg.id, ok: results } satisfies WorkerReply, transferable(results));
    }
  } catch (e) {
    const failure = e instanceof InstanceCallError ? e.failure : { code: 'EXTENSION_CRASHED' as const, message: String((e as Error)?.message ?? e) };
    const step = (e as { step?: string }).step;
    port.postMessage({ id: msg.id, failure, ...(step ? { step } : {}) } satisfies WorkerReply);
  }
});

/** The answers' buffers that can move instead of being copied: whole, unshared, each once. */
function transferable(results: ReturnType<GuestInstance['resolve']>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const r of results) {
    if ('ok' in r && r.ok.buffer instanceof ArrayBuffer && r.ok.byteOffset === 0 && r.ok.byteLength === r.ok.buffer.byteLength) {
      buffers.add(r.ok.buffer);
    }
  }
  return [...buffers];
}
