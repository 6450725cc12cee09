/**
 * The logger the host writes to: any pino-compatible object works (`pino()`, `console`-like
 * wrappers). Guest `log` calls and captured stdout/stderr go to it tagged with the extension.
 */

/** One pino-style log method: `(obj, msg)` or `(msg)`. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** The subset of pino's API the host uses. */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/**
 * The default logger: writes `warn` and `error` (or from `level` up) to the console, as one line
 * each with the structured fields appended as JSON. Quiet by design: a library should not chat.
 */
export function consoleLogger(level: LogLevel = 'warn'): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const method = (lvl: LogLevel): LogFn =>
    ((objOrMsg: object | string, msg?: string) => {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      const [fields, text] = typeof objOrMsg === 'string' ? [undefined, objOrMsg] : [objOrMsg, msg ?? ''];
      const line = `[forge-extensions] ${lvl}: ${text}${fields ? ' ' + safeJson(fields) : ''}`;
      if (lvl === 'error') console.error(line);
      else if (lvl === 'warn') console.warn(line);
      else console.log(line);
    }) as LogFn;
  return { trace: method('trace'), debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { message: v.message } : v));
  } catch {
    return '';
  }
}

/** A logger that drops everything (tests, throw-away sandboxes). */
const noop = (): void => {};
export const silentLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
