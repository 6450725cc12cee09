/**
 * Runs an instance in its own worker thread (`isolation: 'worker'`, the default).
 *
 * The worker owns the instance and the database connection; the main thread only posts
 * requests and receives answers, and it enforces the deadline: a call still running after
 * `timeoutMs` gets the worker terminated (that is the only way to stop a WebAssembly loop), the
 * call fails with `EXTENSION_TIMEOUT`, and the next call starts a fresh worker. A worker that
 * dies on its own (out of memory, a host bug) fails its call with `EXTENSION_CRASHED`.
 *
 * At most one call is in the worker at a time, so a deadline measures the call itself, never
 * time spent queued behind another.
 */
import { Worker } from 'node:worker_threads';
import { StartError, type Backend, type BackendSpec } from './backend.js';
import type { WorkerReply, WorkerRequest } from './extension-worker.js';
import { InstanceCallError } from './instance.js';
import type { CallFailure, GuestLogLine, WireRequest, WireResult } from './wire.js';

/** Deadline for a whole start (instantiate, init, migrate, get-schema): migrations can be slow. */
const START_TIMEOUT_MS = 30_000;

interface InFlight {
  id: number;
  resolve: (value: unknown) => void;
  reject: (e: InstanceCallError) => void;
  timer: NodeJS.Timeout;
}

export class WorkerBackend implements Backend {
  #worker: Worker | undefined;
  /** Resolves once the current worker has started (init ran): calls wait for it. */
  #ready: Promise<void> | undefined;
  #inFlight: InFlight | undefined;
  #nextId = 1;
  #closed = false;

  constructor(
    private readonly spec: BackendSpec,
    private readonly log: (line: GuestLogLine) => void,
  ) {}

  async start(): Promise<string> {
    this.#spawn();
    try {
      const sdl = (await this.#send({ id: 0, op: 'start', restart: false }, START_TIMEOUT_MS)) as string;
      this.#ready = Promise.resolve();
      return sdl;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async resolve(requests: WireRequest[], write: boolean): Promise<WireResult[]> {
    if (this.#closed) throw new InstanceCallError({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension is closed' });
    if (!this.#worker) {
      // The previous worker was stopped (deadline) or died: start a fresh one, init only.
      const worker = this.#spawn();
      this.#ready = this.#send({ id: 0, op: 'start', restart: true }, START_TIMEOUT_MS).then(
        () => undefined,
        (e: unknown) => {
          // A worker that cannot start serves nothing: the next call tries a new one.
          if (this.#worker === worker) this.#worker = undefined;
          void worker.terminate();
          throw e;
        },
      );
    }
    await this.#ready;
    return (await this.#send({ id: 0, op: 'resolve', requests, write }, this.spec.timeoutMs)) as WireResult[];
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#fail({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension was closed' });
    if (worker) await worker.terminate();
  }

  #spawn(): Worker {
    const worker = new Worker(new URL('./extension-worker.js', import.meta.url), {
      workerData: this.spec,
      // The guest's linear memory is capped separately (limits.memoryMb); this bounds the glue's
      // JavaScript heap, so a runaway cannot take the whole process down.
      resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
    });
    worker.on('message', (msg: WorkerReply) => {
      if ('log' in msg) return this.log(msg.log);
      const call = this.#inFlight;
      if (!call || call.id !== msg.id) return;
      this.#settle();
      if ('ok' in msg) call.resolve(msg.ok);
      else {
        const error = new InstanceCallError(msg.failure);
        call.reject(msg.step ? new StartError(msg.step as StartError['step'], error) : error);
      }
    });
    const died = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#fail({ code: 'EXTENSION_CRASHED', message: `the extension's worker ${why}` });
    };
    worker.on('error', (e) => died(`failed: ${e.message}`));
    worker.on('exit', (code) => died(`exited (code ${code})`));
    this.#worker = worker;
    return worker;
  }

  #send(msg: WorkerRequest, timeoutMs: number): Promise<unknown> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new InstanceCallError({ code: 'EXTENSION_CRASHED', message: "the extension's worker is gone" }));
    if (this.#inFlight) throw new Error('WorkerBackend: one call at a time');
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Stopping the thread is the only way to stop a WebAssembly loop.
        this.#worker = undefined;
        void worker.terminate();
        this.#fail({
          code: 'EXTENSION_TIMEOUT',
          message: `the call ran longer than ${timeoutMs} ms (limits.timeoutMs) and was stopped`,
        });
      }, timeoutMs);
      this.#inFlight = { id, resolve, reject, timer };
      worker.postMessage({ ...msg, id });
    });
  }

  #settle(): void {
    if (this.#inFlight) clearTimeout(this.#inFlight.timer);
    this.#inFlight = undefined;
  }

  #fail(failure: CallFailure): void {
    const call = this.#inFlight;
    this.#settle();
    call?.reject(new InstanceCallError(failure));
  }
}
