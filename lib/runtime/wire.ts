/**
 * The shapes that cross between the host and an extension's instance, whether the instance runs
 * on the main thread or in a worker (then they cross `postMessage`; every field is cloneable and
 * every byte array transferable).
 */
import type { StorageFault } from '../data/storage-fault.js';
import type { ExtensionErrorCode } from './errors.js';
import type { LogLevel } from './logger.js';

/** One `field-request`, JSON already encoded to UTF-8 bytes. */
export interface WireRequest {
  typeName: string;
  fieldName: string;
  arguments: Uint8Array;
  parent?: Uint8Array;
  context: Uint8Array;
}

/** One answer: the extension's JSON bytes, or why there is none. */
export type WireResult = { ok: Uint8Array } | { err: string; code: ExtensionErrorCode };

/** A whole call failed (trap, memory, timeout): every request in it gets this error. */
export interface CallFailure {
  code: ExtensionErrorCode;
  message: string;
  /** For `EXTENSION_STORAGE`: the fault the database layer saw. */
  storage?: StorageFault;
}

/** Resource limits, as the runtime enforces them. */
export interface Limits {
  /**
   * Longest time one call may run before the extension's worker is stopped and restarted
   * (`EXTENSION_TIMEOUT`). Enforced in `worker` isolation only: the main thread cannot interrupt
   * a running WebAssembly function.
   * @default 1000
   */
  timeoutMs: number;
  /** Cap on the guest's linear memory, in MiB (`EXTENSION_MEMORY_LIMIT`). @default 128 */
  memoryMb: number;
  /** Largest answer for one field, in bytes (`EXTENSION_RESPONSE_TOO_LARGE`). @default 8 MiB */
  maxResponseBytes: number;
  /** Largest request for one field (arguments + parent + context), in bytes (`EXTENSION_REQUEST_TOO_LARGE`). @default 1 MiB */
  maxRequestBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  timeoutMs: 1000,
  memoryMb: 128,
  maxResponseBytes: 8 * 1024 * 1024,
  maxRequestBytes: 1024 * 1024,
};

/** A log line from the guest (`log` import) or its captured stdout/stderr. */
export interface GuestLogLine {
  level: LogLevel;
  message: string;
  source: 'log' | 'stdout' | 'stderr';
}
