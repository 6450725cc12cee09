/**
 * The request loop of an instance that runs away from the main thread: one piece of code for
 * both the worker thread (`isolation: 'worker'`) and the child process (`'process'`). It owns
 * the instance and its database connection and answers the host's messages one at a time.
 */
import { commitStarted, startInstance, type BackendSpec } from './backend.js';
import type { GuestInstance } from './instance.js';
import { InstanceCallError } from './instance-call-error.js';
import type { NativeGuard } from './native-guard.js';
import type { GuestLogLine, WireCall, WireResult } from './wire.js';

/** Messages the host sends. `spec` comes with `start` where it cannot be handed over at spawn (process). */
export type InstanceRequest =
  /** `restart`: a fresh instance of a version that started before (init only), with the SDL that start returned. */
  | { id: number; op: 'start'; restart?: { sdl: string }; spec?: unknown }
  /** Commits the migration `start` left open (see `Backend.commit`). */
  | { id: number; op: 'commit' }
  | { id: number; op: 'resolve'; call: WireCall }
  | { id: number; op: 'close' };

/** Messages the instance sends. */
export type InstanceReply =
  /** `resolve`: the call's results, one per request. */
  | { id: number; results: WireResult[] }
  /** `start` (the SDL), `commit`, `close`. */
  | { id: number; ok: unknown }
  | { id: number; failure: InstanceCallError['failure']; step?: string }
  /** `start`: the host's share (spawn, compile, open the database) is done; guest code runs from here. */
  | { id: number; guestRuns: true }
  | { log: GuestLogLine };

/** How the loop talks to the host: a `MessagePort` or a child process's IPC channel. */
export interface HostChannel {
  send(reply: InstanceReply, transfer?: ArrayBuffer[]): void;
  onMessage(handler: (msg: InstanceRequest) => void): void;
}

/**
 * Serves `channel` until the host closes it. `specFor` gives the spec on `start` (the worker has
 * it already; a child process builds it from the message). `close` closes the database and
 * calls `exit`.
 */
export function serveInstance(
  channel: HostChannel,
  specFor: (msg: Extract<InstanceRequest, { op: 'start' }>) => BackendSpec | Promise<BackendSpec>,
  guard: NativeGuard,
  exit: () => void,
): void {
  const log = (line: GuestLogLine): void => channel.send({ log: line });
  let started: Awaited<ReturnType<typeof startInstance>> | undefined;
  let instance: GuestInstance | undefined;

  channel.onMessage(async (msg) => {
    try {
      if (msg.op === 'start') {
        const spec = await specFor(msg);
        channel.send({ id: msg.id, guestRuns: true });
        started = await startInstance(spec, log, msg.restart, guard);
        instance = started.instance;
        channel.send({ id: msg.id, ok: started.sdl });
      } else if (msg.op === 'commit') {
        guard.native(() => commitStarted(instance));
        channel.send({ id: msg.id, ok: null });
      } else if (msg.op === 'close') {
        if (started) guard.native(() => started!.db.close());
        channel.send({ id: msg.id, ok: null });
        exit();
      } else {
        if (!instance) throw new InstanceCallError({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension is not started' });
        const results = instance.resolve(msg.call);
        channel.send({ id: msg.id, results }, transferable(results));
      }
    } catch (e) {
      const failure = e instanceof InstanceCallError ? e.failure : { code: 'EXTENSION_CRASHED' as const, message: String((e as Error)?.message ?? e) };
      const step = (e as { step?: string }).step;
      channel.send({ id: msg.id, failure, ...(step ? { step } : {}) });
    }
  });
}

/** The answers' buffers that can move instead of being copied: whole, unshared, each once. */
function transferable(results: WireResult[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const r of results) {
    if ('ok' in r && r.ok instanceof Uint8Array && r.ok.buffer instanceof ArrayBuffer && r.ok.byteOffset === 0 && r.ok.byteLength === r.ok.buffer.byteLength) {
      buffers.add(r.ok.buffer);
    }
  }
  return [...buffers];
}
