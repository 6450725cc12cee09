/**
 * An instance that runs away from the main thread: in a worker thread (`isolation: 'worker'`)
 * or a child process (`'process'`, the default). Both run the same request loop
 * (instance-server.ts); this is the host side both share.
 *
 * The host posts requests and receives answers, and it enforces the deadline: a call still
 * running after `timeoutMs` fails with `EXTENSION_TIMEOUT` at once, its runner is stopped (a
 * process: SIGKILL; a thread: terminated once it is outside native database code), and the
 * next call starts a fresh runner that runs `init` only. A runner that dies on its own fails its
 * call with `EXTENSION_CRASHED` (or a memory code, when the runner says so).
 *
 * At most one call is in a runner at a time, so a deadline measures the call itself, never
 * time spent queued behind another.
 */
import { StartError, type Backend } from './backend.js';
import { InstanceCallError } from './instance-call-error.js';
import type { InstanceReply, InstanceRequest } from './instance-server.js';
import type { CallFailure, GuestLogLine, WireCall, WireResult } from './wire.js';

/**
 * Deadline for a first start (spawn, compile, instantiate, init, migrate, get-schema):
 * migrations can be slow. A restart has it until its guest code runs (spawning and compiling
 * are the host's work, slow on a loaded machine); from then on `timeoutMs`, as any call: it runs
 * `init` only, and an `init` that never returns must not hold every call for 30 s.
 */
const START_TIMEOUT_MS = 30_000;

/** A running worker thread or child process, as {@link RemoteBackend} drives it. */
export interface Runner {
  post(msg: InstanceRequest): void;
  /**
   * Stops it now (deadline). Resolves once it is gone; never rejects. A worker inside native
   * database code is stopped when it leaves it.
   */
  kill(): Promise<void>;
  /**
   * Ends it for good (`close`): asks it to close its database and exit when it is idle, kills it
   * when it is busy. Resolves within a bounded time, even when the runner cannot be joined.
   */
  close(busy: boolean): Promise<void>;
}

/** What a runner reports: its messages, and its death (`failure` says why, when it is not a kill). */
export interface RunnerEvents {
  message(msg: InstanceReply): void;
  died(failure: CallFailure): void;
}

const startTooLong = (ms: number) => `starting the extension took longer than ${ms} ms and was stopped`;

export type SpawnRunner = (events: RunnerEvents) => Runner;

interface InFlight {
  id: number;
  resolve: (value: unknown) => void;
  reject: (e: InstanceCallError) => void;
  timer: NodeJS.Timeout;
  /** Re-arms the deadline once guest code runs (a restart's `init`). */
  guestRuns?: () => void;
}

/** A call's deadline: `timeoutMs` from now; once guest code runs, `guestMs` from then (when set). */
interface Deadline {
  timeoutMs: number;
  /** The message when it expires, given the milliseconds it had. */
  message: (ms: number) => string;
  guestMs?: number;
}

export class RemoteBackend implements Backend {
  #runner: Runner | undefined;
  /** Resolves once the current runner has started (init ran): calls wait for it. */
  #ready: Promise<void> | undefined;
  #inFlight: InFlight | undefined;
  #nextId = 1;
  #closed = false;

  /** The SDL of this version (what `start` returned): a restart's instance takes its SQL resolvers from it. */
  #sdl: string;

  /** `sdl`: for an instance of a version that another instance started (`workers` > 1). */
  constructor(
    private readonly spawnRunner: SpawnRunner,
    private readonly timeoutMs: number,
    private readonly log: (line: GuestLogLine) => void,
    sdl = '',
  ) {
    this.#sdl = sdl;
  }

  async start(): Promise<string> {
    this.#spawn();
    try {
      const sdl = (await this.#send({ id: 0, op: 'start' }, { timeoutMs: START_TIMEOUT_MS, message: startTooLong })) as string;
      this.#sdl = sdl;
      this.#ready = Promise.resolve();
      return sdl;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async commit(): Promise<void> {
    const deadline = { timeoutMs: START_TIMEOUT_MS, message: (ms: number) => `committing the migration took longer than ${ms} ms and was stopped` };
    try {
      await this.#send({ id: 0, op: 'commit' }, deadline);
    } catch (e) {
      await this.close();
      throw e instanceof StartError ? e : new StartError('migrate', e as InstanceCallError);
    }
  }

  async resolve(call: WireCall): Promise<WireResult[]> {
    if (this.#closed) throw new InstanceCallError({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension is closed' });
    // The previous runner died: start a fresh one.
    if (!this.#runner) this.#restart();
    await this.#ready;
    return (await this.#send({ id: 0, op: 'resolve', call }, { timeoutMs: this.timeoutMs, message: (ms) => `the call ran longer than ${ms} ms (limits.timeoutMs) and was stopped` })) as WireResult[];
  }

  /** A fresh runner that runs `init` only (this version's migrations already ran). */
  #restart(): void {
    const runner = this.#spawn();
    const deadline = { timeoutMs: START_TIMEOUT_MS, message: startTooLong, guestMs: this.timeoutMs };
    const ready = this.#send({ id: 0, op: 'start', restart: { sdl: this.#sdl } }, deadline).then(
      () => undefined,
      (e: unknown) => {
        // A runner that cannot start serves nothing: the next call tries a new one.
        if (this.#runner === runner) this.#runner = undefined;
        void runner.kill();
        throw e;
      },
    );
    ready.catch(() => {}); // the next call sees the failure
    this.#ready = ready;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const runner = this.#runner;
    this.#runner = undefined;
    const busy = this.#inFlight !== undefined;
    this.#fail({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension was closed' });
    await runner?.close(busy);
  }

  #spawn(): Runner {
    const runner: Runner = this.spawnRunner({
      message: (msg) => {
        if ('log' in msg) return this.log(msg.log);
        const call = this.#inFlight;
        if (this.#runner !== runner || !call || call.id !== msg.id) return;
        if ('guestRuns' in msg) return call.guestRuns?.();
        this.#settle();
        if ('results' in msg) call.resolve(msg.results);
        else if ('ok' in msg) call.resolve(msg.ok);
        else {
          const error = new InstanceCallError(msg.failure);
          call.reject(msg.step ? new StartError(msg.step as StartError['step'], error) : error);
        }
      },
      died: (failure) => {
        if (this.#runner !== runner) return;
        this.#runner = undefined;
        this.#fail(failure);
      },
    });
    this.#runner = runner;
    return runner;
  }

  #send(msg: InstanceRequest, deadline: Deadline): Promise<unknown> {
    const runner = this.#runner;
    if (!runner) return Promise.reject(new InstanceCallError({ code: 'EXTENSION_CRASHED', message: "the extension's runner is gone" }));
    if (this.#inFlight) throw new Error('RemoteBackend: one call at a time');
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const expire = (ms: number, message: (ms: number) => string) => () => {
        // The call fails now; the runner is stopped (at once, or as soon as it safely can be),
        // and its replacement starts now rather than on the next call (a process takes a while).
        this.#runner = undefined;
        void runner.kill();
        this.#fail({ code: 'EXTENSION_TIMEOUT', message: message(ms) });
        if (!this.#closed && msg.op === 'resolve') this.#restart();
      };
      const call: InFlight = { id, resolve, reject, timer: setTimeout(expire(deadline.timeoutMs, deadline.message), deadline.timeoutMs) };
      const { guestMs } = deadline;
      if (guestMs !== undefined) {
        call.guestRuns = () => {
          clearTimeout(call.timer);
          call.timer = setTimeout(expire(guestMs, (ms) => `init of a fresh instance ran longer than ${ms} ms (limits.timeoutMs) and was stopped`), guestMs);
        };
      }
      this.#inFlight = call;
      runner.post({ ...msg, id });
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
