/**
 * What a file of the extensions directory asks of the host, judged from the file as it is now
 * and from what the host already knows of its extension.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { extensionNameFromFile } from '../data/names.js';
import { sha256Hex } from '../runtime/compile.js';
import type { Entry } from './status.js';
import { isExtensionFile } from './watcher.js';

/** What one file asks of the host (see {@link changeOf}). */
export type FileChange = { kind: 'load'; file: string; bytes: Uint8Array; version: string } | { kind: 'remove'; name: string };

/** Whether a file system error says only that the path, or its directory, is gone. */
export function isGone(e: unknown): boolean {
  return ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');
}

/** The extension files in `dir` now, as absolute paths, sorted (none while it is missing). */
export function extensionFiles(dir: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter(isExtensionFile).sort();
  } catch (e) {
    // Missing, or replaced by a file: no extension files (the watcher warned).
    if (!isGone(e)) throw e;
  }
  return names.map((f) => join(dir, f));
}

/**
 * What `file` as it is now asks for: a version to load, a serving extension to remove, or
 * nothing. `bytes` is the file as just read (undefined: gone, or unreadable and already recorded
 * as a failure); `entry` is its extension's entry, if known, which is updated where the answer is
 * nothing: a removed extension that was not serving is `unloaded`, and bytes equal to the serving
 * version's forget the refusal of a newer one.
 */
export async function changeOf(file: string, bytes: Uint8Array | undefined, entry: Entry | undefined): Promise<FileChange | undefined> {
  const name = extensionNameFromFile(file);
  if (!bytes) {
    if (existsSync(file)) return undefined; // unreadable: its failure is recorded already
    // Removed: its fields leave the schema; its database stays where it is.
    if (entry?.active) return { kind: 'remove', name };
    if (entry) entry.state = 'unloaded';
    return undefined;
  }
  const version = await sha256Hex(bytes);
  if (entry && entry.state !== 'unloaded') {
    if (entry.active?.ext.version === version) {
      // Back to the bytes already serving (after a refused version): nothing to reload.
      entry.version = version;
      entry.error = undefined;
      entry.uses = undefined;
      return undefined;
    }
    if (entry.version === version) return undefined; // the same bytes were refused already
  }
  return { kind: 'load', file, bytes, version };
}
