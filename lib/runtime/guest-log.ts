/**
 * Caps what an extension writes to the host's log (`log` import, stdout, stderr): a guest in a
 * loop must not flood the operator's log or the worker channel. Within each window of
 * {@link WINDOW_MS}, at most {@link LOG_BUDGET_BYTES} of text pass; one warning says when lines
 * start being dropped, another how many were, when the window ends.
 */
import type { GuestLogLine } from './wire.js';

export const LOG_BUDGET_BYTES = 256 * 1024;
export const WINDOW_MS = 10_000;
/** Longest single message kept; longer ones are cut. */
const MAX_MESSAGE = 8 * 1024;

/** Wraps `emit` with the budget. */
export function createGuestLog(emit: (line: GuestLogLine) => void): (line: GuestLogLine) => void {
  let windowStart = 0;
  let used = 0;
  let dropped = 0;
  return (line) => {
    const now = Date.now();
    if (now - windowStart >= WINDOW_MS) {
      if (dropped > 0) emit({ level: 'warn', source: 'log', message: `log output throttled: ${dropped} lines were dropped` });
      windowStart = now;
      used = 0;
      dropped = 0;
    }
    const message = line.message.length > MAX_MESSAGE ? line.message.slice(0, MAX_MESSAGE) + '… (cut)' : line.message;
    used += message.length;
    if (used > LOG_BUDGET_BYTES) {
      if (dropped++ === 0) {
        emit({ level: 'warn', source: 'log', message: `log output throttled: more than ${LOG_BUDGET_BYTES} bytes in ${WINDOW_MS / 1000} s; dropping lines` });
      }
      return;
    }
    emit(message === line.message ? line : { ...line, message });
  };
}
