/**
 * The shapes that cross between the host and an extension's instance, whether the instance runs
 * on the main thread, in a worker (then they cross `postMessage`) or in a child process (its IPC
 * channel, with `advanced` serialization): every field is cloneable and every byte array
 * transferable.
 */
import type { StorageFault } from '../data/storage-fault.js';
import type { ExtensionErrorCode } from './errors.js';
import type { LogLevel } from './logger.js';

/**
 * One `field-request`, its values as JSON text. Strings, not bytes: the host makes them with
 * `JSON.stringify` and both channels carry strings natively (a byte array costs Node's
 * `advanced` serializer a JavaScript callback each); the instance encodes what the guest gets.
 */
export interface WireRequest {
  typeName: string;
  fieldName: string;
  arguments: string;
  parent?: string;
  context: string;
}

/**
 * An HTTP request's answer budget for this extension as a call leaves (`budgets.maxAnswerBytes`,
 * `maxAnswerValues` and what it used so far): the instance applies it to the call's answers
 * before they are sent (and before a Mutation commits), so answers a request may not receive
 * never cross to the host.
 */
export interface AnswerBudget {
  maxAnswerBytes: number;
  maxAnswerValues: number;
  answerBytes: number;
  answerValues: number;
}

/** One call to an instance: `resolve-field` for one request, `resolve-batch` for several. */
export interface WireCall {
  requests: WireRequest[];
  /** A `Mutation` field's call: it runs in one write transaction. */
  write: boolean;
  /** The answer budgets of the HTTP requests the call's fields belong to, each once. */
  budgets: AnswerBudget[];
  /** For each of `requests`, the index of its budget in `budgets`, or -1 (no budget). */
  budgetOf: number[];
}

/**
 * JSON text: UTF-8 bytes as a guest makes it, a string as a SQL resolver does, and any answer once
 * it crossed a process channel (see process-channel.ts).
 */
export type JsonText = Uint8Array | string;

/**
 * One answer: the extension's JSON, or why there is none. `values`: its JSON values, when the
 * instance counted them for the request's answer budget (the host then need not count again).
 * `callBytes`: a SQL resolver's field refused by the bytes its call's statements share (not by
 * its own size): what other fields of the call read first may have spent them.
 */
export type WireResult = { ok: JsonText; values?: number } | { err: string; code: ExtensionErrorCode; callBytes?: true };

/** A whole call failed (trap, memory, timeout): every request in it gets this error. */
export interface CallFailure {
  code: ExtensionErrorCode;
  message: string;
  /** For `EXTENSION_STORAGE`: the fault the database layer saw. */
  storage?: StorageFault;
}

/**
 * Where an extension instance runs.
 * - `'process'`: its own child process (with its database connection). A deadline is SIGKILL:
 *   it stops anything, a runaway SQLite statement included. For third-party code.
 * - `'worker'`: its own worker thread. A deadline stops WebAssembly, but a running SQLite
 *   statement only once it ends. For trusted but possibly buggy code.
 * - `'inline'`: the host's main thread; no deadline at all. For trusted code.
 */
export type Isolation = 'process' | 'worker' | 'inline';

/** Resource limits, as the runtime enforces them. */
export interface Limits {
  /**
   * Longest time one call may run before the extension's process (or worker) is stopped and
   * restarted (`EXTENSION_TIMEOUT`). Not enforced in `inline` isolation: the main thread cannot
   * interrupt a running WebAssembly function. In `worker` isolation, a SQLite statement that is
   * running at the deadline runs on to its end (the call fails at once all the same).
   * @default 1000
   */
  timeoutMs: number;
  /** Cap on the guest's linear memory, in MiB (`EXTENSION_MEMORY_LIMIT`). @default 128 */
  memoryMb: number;
  /** Largest answer for one field, in bytes (`EXTENSION_RESPONSE_TOO_LARGE`). @default 8 MiB */
  maxResponseBytes: number;
  /** Largest request for one field (arguments + parent + context), in bytes (`EXTENSION_REQUEST_TOO_LARGE`). @default 1 MiB */
  maxRequestBytes: number;
  /**
   * `process` isolation: cap, in MiB, on the memory an extension's process may commit beyond
   * what the Node runtime itself reserves at start (the OS limit RLIMIT_DATA, set before it
   * starts, is that measured reservation plus this): guest linear memory, JavaScript heap and
   * SQLite's heap together. SQLite running out of it is `EXTENSION_PROCESS_MEMORY_LIMIT`, so is the
   * process dying of it. Must exceed `memoryMb` by at least 192 (a JavaScript guest's process
   * commits ~150 MiB at rest). Not applied on Windows.
   * @default 512, or `memoryMb` + 384 when that is more
   */
  processMemoryMb: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  timeoutMs: 1000,
  memoryMb: 128,
  maxResponseBytes: 8 * 1024 * 1024,
  maxRequestBytes: 1024 * 1024,
  processMemoryMb: 512,
};

/** A log line from the guest (`log` import) or its captured stdout/stderr. */
export interface GuestLogLine {
  level: LogLevel;
  message: string;
  source: 'log' | 'stdout' | 'stderr';
}

/**
 * The resource limits of an extension process's watchdog thread (extension-process.ts). The
 * host starts one the same way when it measures what the Node runtime reserves
 * (process-backend.ts): on Node 24 and later every thread reserves its own code range.
 */
export const WATCHDOG_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } as const;
