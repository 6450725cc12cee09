/** Shared by the tests: fixtures, temporary directories, quiet loggers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../fixtures/build.js';
import type { Logger, LogLevel } from '../lib/runtime/logger.js';

export { fixturePath };

/** A fresh temporary directory, removed by the returned `cleanup`. */
export function tempDir(prefix = 'forge-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger that records every line, for asserting on what was logged. */
export function recordingLogger(): Logger & { lines: Array<{ level: LogLevel; fields: object | undefined; msg: string }> } {
  const lines: Array<{ level: LogLevel; fields: object | undefined; msg: string }> = [];
  const method = (level: LogLevel) => (a: object | string, b?: string) =>
    lines.push(typeof a === 'string' ? { level, fields: undefined, msg: a } : { level, fields: a, msg: b ?? '' });
  return { lines, trace: method('trace'), debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
}

/** Rejects with the error `promise` rejected with, or fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
