/**
 * Worker isolation's answer to WiseLibs/better-sqlite3#842: terminating a worker thread while
 * it is inside better-sqlite3 aborts the whole process. The worker marks, in shared memory,
 * when it is inside native database code; the main thread stops it only when it is not.
 *
 * One `Int32Array` cell, three states. The worker moves IDLE -> BUSY (compare-and-swap) before
 * each native database call and back after; the main thread moves IDLE -> STOPPING (CAS) and
 * only then terminates. Once STOPPING, the worker never enters native code again: it waits in
 * JavaScript, where termination is safe. A statement already running cannot be stopped from a
 * thread (better-sqlite3 has no `sqlite3_interrupt`): it runs to its end, then the thread stops.
 */

const IDLE = 0;
const BUSY = 1;
const STOPPING = 2;

/** The shared cell, created by the main thread and handed to the worker. */
export function createNativeFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/**
 * The worker's side. `native` wraps host calls into the database; `guest` wraps guest code run
 * from inside such a call (a `Mutation` runs inside `db.write`). Without a flag (inline and
 * process isolation) both just run `fn`.
 */
export class NativeGuard {
  readonly #flag: Int32Array | undefined;
  /** Nesting of `native` on this thread (a plain counter: only this thread reads it). */
  #depth = 0;

  constructor(flag?: Int32Array) {
    this.#flag = flag;
  }

  native<T>(fn: () => T): T {
    if (!this.#flag) return fn();
    if (this.#depth++ === 0) this.#enter();
    try {
      return fn();
    } finally {
      if (--this.#depth === 0) Atomics.store(this.#flag, 0, IDLE);
    }
  }

  guest<T>(fn: () => T): T {
    if (!this.#flag || this.#depth === 0) return fn();
    const depth = this.#depth;
    this.#depth = 0;
    Atomics.store(this.#flag, 0, IDLE);
    try {
      return fn();
    } finally {
      // Back into the database (commit or rollback): only if the main thread is not stopping us.
      this.#enter();
      this.#depth = depth;
    }
  }

  #enter(): void {
    const flag = this.#flag!;
    // STOPPING: terminate() is on its way; wait for it here, in JavaScript, never in SQLite.
    while (Atomics.compareExchange(flag, 0, IDLE, BUSY) !== IDLE) Atomics.wait(flag, 0, STOPPING, 50);
  }
}

/**
 * The main thread's side: calls `terminate` as soon as the worker is outside native database
 * code (at once if it is now). Polls every 10 ms while a statement runs.
 */
export function terminateOutsideNative(flag: Int32Array, terminate: () => Promise<unknown>): Promise<void> {
  const tryStop = () => Atomics.compareExchange(flag, 0, IDLE, STOPPING) !== BUSY;
  if (tryStop()) return terminate().then(() => undefined);
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (!tryStop()) return;
      clearInterval(poll);
      void terminate().then(() => resolve());
    }, 10);
    // A statement may outlive every request: the poll must not keep the process alive.
    poll.unref();
  });
}

/** Whether the worker is inside native database code now. */
export function insideNative(flag: Int32Array): boolean {
  return Atomics.load(flag, 0) === BUSY;
}
