/**
 * A throw-away sandbox for `check` and `inspect`: the extension runs exactly as a host would run
 * it (worker isolation, deny-by-default WASI), against a temporary database and cache that are
 * deleted afterwards.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXTENSION_NAME_PATTERN, extensionNameFromFile } from '../data/names.js';
import type { Extension } from '../runtime/extension.js';
import { loadExtension } from '../runtime/load.js';
import type { Logger } from '../runtime/logger.js';
import { CliError } from './cli.js';

/** Reads a `.wasm` argument; a missing file is a usage error. */
export async function readComponent(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
  }
}

/** Parses a `--config` JSON argument. */
export function parseConfig(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`--config is not valid JSON: ${(e as Error).message}`, 2);
  }
}

/** Loads `bytes` as extension `file`'s name in a temporary sandbox, runs `fn`, cleans up. */
export async function inSandbox<T>(file: string, bytes: Uint8Array, config: unknown, logger: Logger, fn: (ext: Extension) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'forge-check-'));
  try {
    const ext = await loadExtension(bytes, {
      name: sandboxName(file),
      dataDir: dir,
      config,
      isolation: 'worker',
      // Generous: a first migration may be slow, and this is a check, not a server.
      limits: { timeoutMs: 10_000 },
      logger,
    });
    try {
      return await fn(ext);
    } finally {
      await ext.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The extension name for `file`; an invalid file name still gets checked (under a stand-in name). */
function sandboxName(file: string): string {
  const name = extensionNameFromFile(file);
  return EXTENSION_NAME_PATTERN.test(name) ? name : 'extension';
}
