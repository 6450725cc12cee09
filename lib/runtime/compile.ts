/**
 * Bytes -> a compiled component ready to instantiate, cached by sha256.
 *
 *   inspect (µs, main thread) -> transpile (worker thread; skipped on a disk-cache hit)
 *   -> cap memory + WebAssembly.compile (V8 compiles on background threads)
 *
 * The disk cache (`<cacheDir>/<sha256>-<toolchain tag>/`, see `transpile-cache.ts`) survives
 * restarts: a warm start never transpiles, and a damaged entry is rebuilt, never imported. The in-memory cache shares compiled modules between extensions and reloads of the
 * same bytes. A reload whose bytes did not change reuses everything.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { inspectComponent, type ComponentInfo } from './component-check.js';
import { limitMemory } from './memory-limit.js';
import { DEBUG_LOG_DEFINITION } from './transpile.js';
import { discardEntry, readEntry, writeEntry, type CacheEntry } from './transpile-cache.js';
import { transpileInWorker } from './transpile-pool.js';

/** A component compiled for one memory cap: what an instance (inline or in a worker) needs. */
export interface CompiledComponent {
  /** sha256 (hex) of the component's bytes: its version. */
  sha256: string;
  /** `data:` URL of the verified glue module source (workers import it too). */
  glueUrl: string;
  /** Compiled core modules by the file name the glue asks for. Shareable with workers. */
  modules: Record<string, WebAssembly.Module>;
  /**
   * The verified core-module bytes (memory cap not applied) by file name: what an extension
   * process compiles for itself. Sent, never read again from the cache, which may have changed
   * since it was verified (or never have been written).
   */
  coreModules: Record<string, Uint8Array>;
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
const TOOLCHAIN_TAG = createHash('sha256').update(`jco@1.35.0\n${DEBUG_LOG_DEFINITION}\nv2`).digest('hex').slice(0, 12);

/** Compiles components, caching transpiled files on disk and compiled modules in memory. */
export class ComponentCompiler {
  readonly #cacheDir: string;
  /** sha256 + cap -> compiled; kept small: a reloaded extension's old versions fall out. */
  readonly #compiled = new Map<string, Promise<CompiledComponent>>();
  static readonly #memoryEntries = 16;

  constructor(cacheDir: string) {
    this.#cacheDir = cacheDir;
  }

  /**
   * Compiles `bytes` with linear memory capped at `memoryLimitBytes`. Throws {@link CompileStepError}.
   * `warn` hears about damaged cache entries (deleted and rebuilt).
   */
  async compile(bytes: Uint8Array, memoryLimitBytes: number, warn: (message: string) => void = () => {}): Promise<CompiledComponent> {
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
      entry = this.#compileUncached(bytes, sha256, info, memoryLimitBytes, warn);
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
    warn: (message: string) => void,
  ): Promise<CompiledComponent> {
    const dir = join(this.#cacheDir, `${sha256}-${TOOLCHAIN_TAG}`);
    let entry = await readEntry(dir, warn);
    let modules: Record<string, WebAssembly.Module>;
    try {
      modules = await compileModules((entry ??= await this.#transpileToDisk(bytes, dir, warn)).coreModules, memoryLimitBytes);
    } catch (e) {
      // Verified bytes that do not compile: delete the entry, transpile once more.
      await discardEntry(dir, `its core modules do not compile (${(e as Error).message})`, warn);
      entry = await this.#transpileToDisk(bytes, dir, warn);
      try {
        modules = await compileModules(entry.coreModules, memoryLimitBytes);
      } catch (e) {
        throw new CompileStepError('compile', (e as Error).message);
      }
    }
    // The host imports the very bytes it verified (a `data:` URL), not the file: nothing written
    // to the cache after the check can run. The glue imports nothing, so it needs no file URL.
    const glueUrl = `data:text/javascript;base64,${Buffer.from(entry.glue).toString('base64')}`;
    return { sha256, glueUrl, modules, coreModules: entry.coreModules, info, memoryLimitBytes };
  }

  /**
   * Transpiles in a worker and writes the result as a cache entry. A cache that cannot be written
   * (disk full, not a directory, read-only) costs a warning and a transpile at the next start,
   * never the extension: the result is used from memory.
   */
  async #transpileToDisk(bytes: Uint8Array, dir: string, warn: (message: string) => void): Promise<CacheEntry> {
    const result = await transpileInWorker(bytes).catch((e: Error) => {
      throw new CompileStepError('transpile', e.message);
    });
    return writeEntry(dir, result).catch((e: Error) => {
      warn(`transpile cache entry ${dir} could not be written (${e.message}): using the transpiled component from memory; the next start transpiles again`);
      return { glue: result.glue, coreModules: result.coreModules };
    });
  }
}

async function compileModules(coreModules: Record<string, Uint8Array>, memoryLimitBytes: number): Promise<Record<string, WebAssembly.Module>> {
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [file, code] of Object.entries(coreModules)) {
    modules[file] = await WebAssembly.compile(limitMemory(code, memoryLimitBytes));
  }
  return modules;
}

/** sha256 of `bytes` as hex: an extension version. Hashed off the main thread (WebCrypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

