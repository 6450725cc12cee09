/** Shared by the tests: fixtures, temporary directories, quiet loggers. */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_DIR, fixturePath } from '../fixtures/build.js';
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

/** A temporary extensions directory holding copies of fixtures: `{ 'issues.wasm': 'issues' }`. */
export function extensionsDir(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const made = tempDir('forge-ext-');
  for (const [file, fixture] of Object.entries(files)) copyFileSync(fixturePath(fixture), join(made.dir, file));
  return made;
}

/**
 * One transpile cache for the whole test run (tests use fresh data directories; without this
 * each would transpile its fixtures again).
 */
export const TEST_CACHE_DIR = join(BUILD_DIR, 'transpile-cache');

/**
 * The same component with a custom section appended (id 0, LEB size, name, payload): still a
 * valid component, with another sha256, so the host treats it as a new version that must be
 * transpiled again.
 */
export function withCustomSection(bytes: Uint8Array, tag: string): Buffer {
  const name = Buffer.from('forge-test');
  const body = Buffer.concat([leb(name.length), name, Buffer.from(tag)]);
  return Buffer.concat([bytes, Buffer.from([0]), leb(body.length), body]);
}

function leb(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}
