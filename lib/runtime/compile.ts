/**
 * Bytes -> a compiled component ready to instantiate, cached by sha256.
 *
 *   inspect (µs, main thread) -> transpile (worker thread; skipped on a disk-cache hit)
 *   -> cap memory + WebAssembly.compile (V8 compiles on background threads)
 *
 * The disk cache (`<cacheDir>/<sha256>-<toolchain tag>/`) survives restarts: a warm start never
 * transpiles. The in-memory cache shares compiled modules between extensions and reloads of the
 * same bytes. A reload whose bytes did not change reuses everything.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspectComponent, type ComponentInfo } from './component-check.js';
import { limitMemory } from './memory-limit.js';
import { DEBUG_LOG_DEFINITION } from './transpile.js';
import { transpileInWorker } from './transpile-pool.js';

/** A component compiled for one memory cap: what an instance (inline or in a worker) needs. */
export interface CompiledComponent {
  /** sha256 (hex) of the component's bytes: its version. */
  sha256: string;
  /** `file:` URL of the glue module on disk (workers import it too). */
  glueUrl: string;
  /** Compiled core modules by the file name the glue asks for. Shareable with workers. */
  modules: Record<string, WebAssembly.Module>;
  info: ComponentInfo;
  memoryLimitBytes: number;
}

/** Which step failed, for {@link ExtensionLoadError}s. */
export class CompileStepError extends Error {
  constructor(
    readonly step: 'validate' | 'transpile' | 'compile',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Ties the disk cache to the toolchain that wrote it: another jco or another glue patch gets its
 * own entries.
 */
const TOOLCHAIN_TAG = createHash('sha256').update(`jco@1.35.0\n${DEBUG_LOG_DEFINITION}\nv1`).digest('hex').slice(0, 12);

/** Compiles components, caching transpiled files on disk and compiled modules in memory. */
export class ComponentCompiler {
  readonly #cacheDir: string;
  /** sha256 + cap -> compiled; kept small: a reloaded extension's old versions fall out. */
  readonly #compiled = new Map<string, Promise<CompiledComponent>>();
  static readonly #memoryEntries = 16;

  constructor(cacheDir: string) {
    this.#cacheDir = cacheDir;
  }

  /** Compiles `bytes` with linear memory capped at `memoryLimitBytes`. Throws {@link CompileStepError}. */
  async compile(bytes: Uint8Array, memoryLimitBytes: number): Promise<CompiledComponent> {
    let info: ComponentInfo;
    try {
      info = inspectComponent(bytes);
    } catch (e) {
      throw new CompileStepError('validate', (e as Error).message);
    }
    const sha256 = await sha256Hex(bytes);
    const key = `${sha256}:${memoryLimitBytes}`;
    let entry = this.#compiled.get(key);
    if (entry) {
      this.#compiled.delete(key); // refresh LRU position
    } else {
      entry = this.#compileUncached(bytes, sha256, info, memoryLimitBytes);
      entry.catch(() => this.#compiled.delete(key));
    }
    this.#compiled.set(key, entry);
    while (this.#compiled.size > ComponentCompiler.#memoryEntries) {
      this.#compiled.delete(this.#compiled.keys().next().value!);
    }
    return entry;
  }

  async #compileUncached(
    bytes: Uint8Array,
    sha256: string,
    info: ComponentInfo,
    memoryLimitBytes: number,
  ): Promise<CompiledComponent> {
    const dir = join(this.#cacheDir, `${sha256}-${TOOLCHAIN_TAG}`);
    const coreModules = (await readCached(dir)) ?? (await this.#transpileToDisk(bytes, dir));
    const modules: Record<string, WebAssembly.Module> = {};
    try {
      for (const [file, code] of Object.entries(coreModules)) {
        modules[file] = await WebAssembly.compile(limitMemory(code, memoryLimitBytes));
      }
    } catch (e) {
      throw new CompileStepError('compile', (e as Error).message);
    }
    return { sha256, glueUrl: pathToFileURL(join(dir, 'glue.mjs')).href, modules, info, memoryLimitBytes };
  }

  /** Transpiles in a worker and writes the result atomically (temp dir + rename). */
  async #transpileToDisk(bytes: Uint8Array, dir: string): Promise<Record<string, Uint8Array>> {
    const result = await transpileInWorker(bytes).catch((e: Error) => {
      throw new CompileStepError('transpile', e.message);
    });
    const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await mkdir(tmp, { recursive: true });
    try {
      await writeFile(join(tmp, 'glue.mjs'), result.glue);
      for (const [file, code] of Object.entries(result.coreModules)) await writeFile(join(tmp, file), code);
      await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
        // Another process (or load) wrote the same entry first: theirs is identical.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        await rm(tmp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return result.coreModules;
  }
}

/** sha256 of `bytes` as hex: an extension version. Hashed off the main thread (WebCrypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

/** The core modules of a complete cache entry, or undefined. */
async function readCached(dir: string): Promise<Record<string, Uint8Array> | undefined> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return undefined;
  }
  if (!files.includes('glue.mjs')) return undefined;
  const modules: Record<string, Uint8Array> = {};
  for (const file of files.filter((f) => f.endsWith('.wasm'))) modules[file] = await readFile(join(dir, file));
  return modules;
}
