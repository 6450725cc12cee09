/**
 * The compiler workers: at most {@link MAX_WORKERS} transpiles run at once (each takes a core
 * and ~300 MB for a 12 MB component; ten extensions starting cold must not take ten), and a
 * worker stays up for {@link IDLE_MS} after its last job, because starting jco costs more than
 * transpiling a small component. An idle worker never keeps the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CompilerReply } from './compiler-worker.js';
import type { Transpiled } from './transpile.js';

export const MAX_WORKERS = Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
export const IDLE_MS = 10_000;

interface Job {
  bytes: Uint8Array;
  resolve: (t: Transpiled) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: (Job & { id: number }) | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

const queue: Job[] = [];
const slots = new Set<Slot>();
let nextId = 1;

/** Transpiles `bytes` in a compiler worker. Rejects with jco's message. */
export function transpileInWorker(bytes: Uint8Array): Promise<Transpiled> {
  return new Promise((resolve, reject) => {
    queue.push({ bytes, resolve, reject });
    dispatch();
  });
}

function dispatch(): void {
  while (queue.length > 0) {
    const slot = [...slots].find((s) => !s.job) ?? (slots.size < MAX_WORKERS ? spawn() : undefined);
    if (!slot) return;
    const job = { ...queue.shift()!, id: nextId++ };
    clearTimeout(slot.idleTimer);
    slot.job = job;
    slot.worker.ref();
    slot.worker.postMessage({ id: job.id, bytes: job.bytes });
  }
}

function spawn(): Slot {
  const slot: Slot = { worker: new Worker(new URL('./compiler-worker.js', import.meta.url)), job: undefined, idleTimer: undefined };
  slots.add(slot);
  slot.worker.on('message', (reply: CompilerReply) => {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = undefined;
    if ('ok' in reply) job.resolve(reply.ok);
    else job.reject(new Error(reply.error));
    idle(slot);
    dispatch();
  });
  const died = (why: string) => {
    slots.delete(slot);
    clearTimeout(slot.idleTimer);
    slot.job?.reject(new Error(`the compiler worker ${why}`));
    slot.job = undefined;
    dispatch();
  };
  slot.worker.once('error', (e) => died(`failed: ${e.message}`));
  slot.worker.once('exit', (code) => died(`exited (${code})`));
  return slot;
}

function idle(slot: Slot): void {
  slot.worker.unref();
  slot.idleTimer = setTimeout(() => void slot.worker.terminate(), IDLE_MS);
  slot.idleTimer.unref();
}
