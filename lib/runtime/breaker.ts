/**
 * The circuit breaker: guards the host from an extension that keeps failing by its own fault.
 *
 * What counts (within {@link CRASH_WINDOW_MS}; {@link CRASH_LIMIT} of them open the breaker for
 * {@link FAILED_BACKOFF_MS}):
 * - `EXTENSION_CRASHED` and `EXTENSION_RANDOM_BYTES_LIMIT`: a trap, a dead worker or process, or
 *   a refused WASI request is a defect of the extension, whatever it was asked.
 * - `EXTENSION_TIMEOUT`, `EXTENSION_MEMORY_LIMIT` and `EXTENSION_PROCESS_MEMORY_LIMIT` of a call that carried **one** field: the
 *   extension could not answer one field within its limits (a runaway loop, a leak). The same
 *   failures of a call carrying several fields do not count: their cost is the sum of what
 *   clients asked for together (aliases, list items, concurrent requests), which is client-shaped
 *   load; those fields fail, the extension stays on. A client can therefore open the breaker only
 *   through a single field the extension cannot answer within its limits, which is a defect of
 *   the extension (bound the work of each field, as `issues` bounds `first`).
 * - Nothing else: errors the extension answered, request budgets, size limits, storage errors.
 */
import type { ExtensionErrorCode } from './errors.js';

export const CRASH_LIMIT = 5;
export const CRASH_WINDOW_MS = 30_000;
export const FAILED_BACKOFF_MS = 60_000;

/** A call that ran out of time or memory: its cost may be the sum of what several clients asked. */
export function isOverLimit(code: ExtensionErrorCode): boolean {
  return code === 'EXTENSION_TIMEOUT' || code === 'EXTENSION_MEMORY_LIMIT' || code === 'EXTENSION_PROCESS_MEMORY_LIMIT';
}

/** Whether a whole-call failure of a call carrying `fields` fields counts against the extension. */
export function isOwnFailure(code: ExtensionErrorCode, fields: number): boolean {
  if (code === 'EXTENSION_CRASHED' || code === 'EXTENSION_RANDOM_BYTES_LIMIT') return true;
  if (isOverLimit(code)) return fields === 1;
  return false;
}

export class CircuitBreaker {
  #failures: number[] = [];
  /** Set while open: when it closes again. */
  openUntil = 0;

  /** Records one own failure; returns true when this one opened the breaker. */
  record(now = Date.now()): boolean {
    this.#failures = this.#failures.filter((t) => now - t < CRASH_WINDOW_MS);
    this.#failures.push(now);
    if (this.#failures.length < CRASH_LIMIT || this.openUntil !== 0) return false;
    this.openUntil = now + FAILED_BACKOFF_MS;
    return true;
  }

  reset(): void {
    this.#failures = [];
    this.openUntil = 0;
  }
}
