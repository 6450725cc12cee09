/**
 * Throttles what an extension writes to the host's log (`log` import, stdout, stderr): a guest
 * in a loop must not flood the operator's log or the worker channel.
 */
import type { GuestLogLine } from './wire.js';

/** Bytes of log text an extension may write per {@link WINDOW_MS}; the rest is dropped. */
export const LOG_BUDGET_BYTES = 256 * 1024;
const WINDOW_MS = 10_000;
/** Longest single message kept; longer ones are cut. */
const MAX_MESSAGE = 8 * 1024;

/** Wraps `emit` with the budget; one warning line says when output is being dropped. */
export function createGuestLog(emit: (line: GuestLogLine) => void): (line: GuestLogLine) => void {
  let windowStart = 0;
  let used = 0;
  let dropped = 0;
  return (line) => {
    const now = Date.now();
    if (now - windowStart >= WINDOW_MS) {
      if (dropped > 0) {
        emit({ level: 'warn', source: 'log', message: `${dropped} log lines dropped (more than ${LOG_BUDGET_BYTES} bytes in ${WINDOW_MS / 1000} s)` });
      }
      windowStart = now;
      used = 0;
      dropped = 0;
    }
    const message = line.message.length > MAX_MESSAGE ? line.message.slice(0, MAX_MESSAGE) + '… (cut)' : line.message;
    used += message.length;
    if (used > LOG_BUDGET_BYTES) {
      dropped++;
      return;
    }
    emit(message === line.message ? line : { ...line, message });
  };
}
