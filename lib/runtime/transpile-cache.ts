/**
 * The disk cache of transpiled components: one directory per component version and toolchain,
 * `<cacheDir>/<sha256>-<toolchain tag>/`, holding `glue.mjs`, the core modules and
 * `manifest.json` — the sha256 of every file, recorded when the entry was written.
 *
 * The glue is code that runs in the host process, so an entry is used only if every file still
 * has the hash its manifest recorded: appended code, a truncated file or a flipped byte makes the
 * entry a miss (it is deleted and the component transpiled again). The host then imports the
 * bytes it verified (see `compile.ts`), never the file again. Entries
 * are written to a temporary directory, each file fsynced, and renamed into place, so a crash
 * leaves either a whole entry or none.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Transpiled } from './transpile.js';

/** The file the host imports. */
export const GLUE_FILE = 'glue.mjs';
const MANIFEST_FILE = 'manifest.json';

/** A verified cache entry: the glue's source and the core modules. */
export interface CacheEntry {
  glue: string;
  coreModules: Record<string, Uint8Array>;
}

interface Manifest {
  /** File name -> sha256 (hex) of its bytes. */
  files: Record<string, string>;
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Reads and verifies the entry in `dir`. Returns undefined when there is none; when there is one
 * that fails verification (or cannot be read), deletes it, calls `warn` saying why, and returns
 * undefined.
 */
export async function readEntry(dir: string, warn: (message: string) => void): Promise<CacheEntry | undefined> {
  let manifestText: string;
  try {
    manifestText = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return discard(dir, `its manifest cannot be read (${(e as Error).message})`, warn);
    // No manifest: no entry, or one written without (an older version, a crash): not trusted.
    return (await exists(dir)) ? discard(dir, 'it has no manifest', warn) : undefined;
  }
  try {
    const manifest = JSON.parse(manifestText) as Manifest;
    const files = Object.entries(manifest.files ?? {});
    if (!manifest.files?.[GLUE_FILE]) return discard(dir, `its manifest lists no ${GLUE_FILE}`, warn);
    let glue = '';
    const coreModules: Record<string, Uint8Array> = {};
    for (const [file, expected] of files) {
      if (file.includes('/') || file.includes('\\')) return discard(dir, `its manifest names ${JSON.stringify(file)}`, warn);
      const bytes = await readFile(join(dir, file));
      if (sha256(bytes) !== expected) return discard(dir, `${file} does not match the hash recorded when it was written`, warn);
      if (file.endsWith('.wasm')) coreModules[file] = bytes;
      if (file === GLUE_FILE) glue = bytes.toString('utf8');
    }
    return { glue, coreModules };
  } catch (e) {
    return discard(dir, `it cannot be read (${(e as Error).message})`, warn);
  }
}

/** Deletes a damaged entry (one whose modules failed to compile, say), warning why. */
export async function discardEntry(dir: string, why: string, warn: (message: string) => void): Promise<void> {
  await discard(dir, why, warn);
}

/** Writes `transpiled` as the entry `dir` (atomically: temp dir, fsync, rename). Returns it. */
export async function writeEntry(dir: string, transpiled: Transpiled): Promise<CacheEntry> {
  const files: Record<string, Uint8Array> = { [GLUE_FILE]: new TextEncoder().encode(transpiled.glue), ...transpiled.coreModules };
  const manifest: Manifest = { files: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, sha256(b)])) };
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await mkdir(tmp, { recursive: true });
  try {
    for (const [file, bytes] of Object.entries(files)) await writeDurably(join(tmp, file), bytes);
    // The manifest last: an entry with a manifest is complete.
    await writeDurably(join(tmp, MANIFEST_FILE), JSON.stringify(manifest));
    await fsyncDir(tmp);
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another process (or load) wrote the same entry first: theirs is identical.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    });
    await fsyncDir(dirname(dir));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { glue: transpiled.glue, coreModules: transpiled.coreModules };
}

async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Makes a rename or a new file durable: fsync of the directory (not supported everywhere). */
async function fsyncDir(path: string): Promise<void> {
  let dir;
  try {
    dir = await open(path, 'r');
    await dir.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the rename is still atomic.
  } finally {
    await dir?.close();
  }
}

async function discard(dir: string, why: string, warn: (message: string) => void): Promise<undefined> {
  // An entry that cannot be deleted (the cache directory is a file, or not writable) is still
  // never used: the component is transpiled again, and the cache is only an optimisation.
  const deleted = await rm(dir, { recursive: true, force: true }).then(
    () => 'deleted',
    (e: Error) => `not deleted: ${e.message}`,
  );
  warn(`transpile cache entry ${dir} is damaged (${why}): ${deleted}, transpiling again`);
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
