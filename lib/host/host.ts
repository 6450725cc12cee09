/**
 * The registry of extensions: it loads every `.wasm` of a directory, composes their schemas
 * with the application's, and serves the result as one atomic snapshot.
 *
 * Every change (the initial scan, a file added, changed or removed) is applied the same way,
 * one at a time: load the new version completely (validate, transpile, init, migrate,
 * get-schema), compose the *whole* schema with it, and only then swap the snapshot. A failure
 * before the swap leaves the previous version serving. Requests already running finish on the
 * snapshot they started with; an extension version is closed once no snapshot that uses it is
 * in use any more.
 */
import { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { extensionNameFromFile } from '../data/names.js';
import { ExtensionLoadError, messageOf } from '../runtime/errors.js';
import type { Extension } from '../runtime/extension.js';
import { sha256Hex } from '../runtime/compile.js';
import { loadExtension } from '../runtime/load.js';
import { composeSchema } from '../schema/compose.js';
import { attachResolvers } from '../schema/routing.js';
import { extensionPolicy, resolveHostOptions, type HostOptions, type ResolvedHostOptions } from './options.js';
import { SnapshotTracker, type Snapshot } from './snapshots.js';
import { isExtensionFile, watchExtensions } from './watcher.js';

/** One extension as `host.status()` reports it. */
export interface ExtensionStatus {
  name: string;
  /** The `.wasm` file. */
  file: string;
  /** sha256 of the version serving; of the failed one when none serves. */
  version?: string;
  /**
   * `ready`: serving. `failed`: not serving (its load failed, or it crashed repeatedly; see
   * `error`). `loading`: first load in progress. `disabled`: `enabled: false`. `unloaded`: its
   * file was removed.
   */
  state: 'loading' | 'ready' | 'failed' | 'disabled' | 'unloaded';
  /** The last failure: why it is `failed`, or why a newer version was refused while this one serves. */
  error?: string;
  /** When the serving version was loaded. */
  loadedAt?: Date;
}

/** Payload of the host's `'loaded' | 'reloaded' | 'unloaded' | 'failed'` events. */
export interface ExtensionEvent {
  name: string;
  version?: string;
  /** For `'failed'`: what went wrong. */
  error?: Error;
}

interface Entry {
  name: string;
  file: string;
  state: ExtensionStatus['state'];
  active?: { ext: Extension; loadedAt: Date };
  /** sha256 of the latest file content seen (loaded or refused): an unchanged file is not reloaded. */
  version?: string;
  error?: string;
}

/**
 * Creates a host for the `.wasm` files of `dir`. It starts loading at once; `await host.ready()`
 * before using {@link ExtensionHost.schema}. The HTTP middlewares create one for you.
 */
export function createExtensionHost(dir: string, options: HostOptions = {}): ExtensionHost {
  return new ExtensionHost(dir, resolveHostOptions(options));
}

/** See {@link createExtensionHost}. Events: `'loaded'`, `'reloaded'`, `'unloaded'`, `'failed'` ({@link ExtensionEvent}). */
export class ExtensionHost extends EventEmitter {
  /** The extensions directory (absolute). */
  readonly dir: string;
  readonly #options: ResolvedHostOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #snapshots: SnapshotTracker;
  readonly #ready: Promise<void>;
  /** Changes apply one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();
  #watcher: { close(): Promise<void> } | undefined;
  #closed = false;

  /** @internal Use {@link createExtensionHost}. */
  constructor(dir: string, options: ResolvedHostOptions) {
    super();
    this.dir = resolve(dir);
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw new Error(`forge-extensions: the extensions directory ${JSON.stringify(dir)} does not exist (resolved: ${this.dir})`);
    }
    this.#options = options;
    this.#snapshots = new SnapshotTracker(composeSchema(options.schema, []).schema, (ext) => void ext.close());
    this.#ready = this.#enqueue(() => this.#initialScan());
    this.#ready.catch(() => {});
  }

  /** Resolves once every file found at startup has loaded or failed. Rejects only if the directory cannot be read. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The composed schema serving now. */
  schema(): GraphQLSchema {
    return this.#snapshots.current.schema;
  }

  /** Every extension the host knows of, sorted by name. */
  status(): ExtensionStatus[] {
    return [...this.#entries.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((entry) => {
        const ext = entry.active?.ext;
        const crashed = ext?.state === 'failed';
        return {
          name: entry.name,
          file: entry.file,
          state: crashed ? 'failed' : entry.state,
          ...(ext || entry.version ? { version: ext?.version ?? entry.version } : {}),
          ...(crashed ? { error: ext.stateReason } : entry.error ? { error: entry.error } : {}),
          ...(entry.active ? { loadedAt: entry.active.loadedAt } : {}),
        };
      });
  }

  /** The serving version of extension `name` (for its `stats`, or to call it directly), if any. */
  extension(name: string): Extension | undefined {
    return this.#entries.get(name)?.active?.ext;
  }

  /**
   * @internal For the HTTP layer: the current snapshot, held until `release()`. Its extensions
   * stay open while it is held, even if a newer snapshot replaced it.
   */
  acquire(): Snapshot {
    return this.#snapshots.acquire();
  }

  /** Stops watching, waits for pending changes, closes every extension and database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready.catch(() => {});
    await this.#watcher?.close();
    await this.#queue.catch(() => {});
    await this.#snapshots.closeAll();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => (this.#closed ? undefined : task()));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #initialScan(): Promise<void> {
    // Watch first: a change during the scan is queued behind it, never missed.
    if (this.#options.watch) {
      this.#watcher = await watchExtensions(
        this.dir,
        (file) =>
          void this.#enqueue(() => this.#fileChanged(file)).catch((e: Error) =>
            this.#options.logger.error({ err: e, file }, `forge-extensions: reloading ${file} failed: ${e.message}`),
          ),
        (e) => this.#options.logger.error({ err: e }, `forge-extensions: watching ${this.dir} failed: ${e.message}`),
      );
    }
    const files = (await readdir(this.dir)).filter(isExtensionFile).sort();
    const loaded = await Promise.all(
      files.map(async (f) => {
        const file = join(this.dir, f);
        const bytes = await this.#read(file);
        return bytes && this.#load(file, bytes, await sha256Hex(bytes));
      }),
    );
    this.#swap(loaded.filter((x): x is Extension => x !== undefined), []);
  }

  /** The entry of `file`'s extension, created (`loading`) on first sight. */
  #entry(file: string): Entry {
    const name = extensionNameFromFile(file);
    let entry = this.#entries.get(name);
    if (!entry) this.#entries.set(name, (entry = { name, file, state: 'loading' }));
    return entry;
  }

  /** A file's bytes; undefined if it is gone. A file that cannot be read fails its extension. */
  async #read(file: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      const entry = this.#entry(file);
      this.#failed(entry, undefined, new ExtensionLoadError(entry.name, 'read', messageOf(e), { cause: e }));
      return undefined;
    }
  }

  /** A watched file was added, changed or removed: load the new version or unload the old. */
  async #fileChanged(file: string): Promise<void> {
    const name = extensionNameFromFile(file);
    const entry = this.#entries.get(name);
    const bytes = await this.#read(file);
    if (!bytes) {
      if (existsSync(file)) return; // unreadable: #read recorded the failure
      // Removed: its fields leave the schema; its database stays where it is.
      if (entry?.active) this.#swap([], [name]);
      else if (entry) entry.state = 'unloaded';
      return;
    }
    const version = await sha256Hex(bytes);
    if (entry && entry.state !== 'unloaded') {
      if (entry.active?.ext.version === version) {
        // Back to the bytes already serving (after a refused version): nothing to reload.
        entry.version = version;
        entry.error = undefined;
        return;
      }
      if (entry.version === version) return; // the same bytes were refused already
    }
    const ext = await this.#load(file, bytes, version);
    if (ext) this.#swap([ext], []);
  }

  /** Loads one file's bytes into a running Extension (not yet serving); records a failure on its entry. */
  async #load(file: string, bytes: Uint8Array, version: string): Promise<Extension | undefined> {
    const entry = this.#entry(file);
    const name = entry.name;
    const settings = this.#options.extensions[name] ?? {};
    if (settings.enabled === false) {
      entry.state = 'disabled';
      return undefined;
    }
    entry.version = version;
    try {
      const ext = await loadExtension(bytes, {
        name,
        dataDir: this.#options.dataDir,
        ...(this.#options.cacheDir ? { cacheDir: this.#options.cacheDir } : {}),
        config: settings.config,
        isolation: settings.isolation ?? this.#options.isolation,
        limits: { ...this.#options.limits, ...settings.limits },
        workers: settings.workers ?? this.#options.workers,
        logger: this.#options.logger,
      });
      ext.on('failed', ({ reason }: { reason: string }) => this.#failed(entry, ext.version, new Error(reason)));
      return ext;
    } catch (e) {
      const error = e instanceof Error ? e : new Error(messageOf(e));
      this.#failed(entry, undefined, error);
      return undefined;
    }
  }

  /**
   * Composes the schema with `incoming` (new versions) and without `removed`, then swaps the
   * snapshot. Established extensions compose first, so a newcomer that clashes is the one
   * refused; a refused new version leaves its previous version in the schema.
   */
  #swap(incoming: Extension[], removed: string[]): void {
    let candidates = [...incoming].sort((a, b) => a.name.localeCompare(b.name));
    let composed = this.#compose(candidates, removed);
    /** New versions refused: they never serve. */
    const refused = new Map(candidates.filter((ext) => composed.rejected.has(ext.name)).map((ext) => [ext, composed.rejected.get(ext.name)!]));
    if ([...refused.keys()].some((ext) => this.#entries.get(ext.name)?.active)) {
      // Compose again without them: their serving versions stay.
      candidates = candidates.filter((ext) => !refused.has(ext));
      composed = this.#compose(candidates, removed);
    }
    const { composition, all, rejected } = composed;
    const serving = all.filter((ext) => !rejected.has(ext.name));
    attachResolvers(composition.schema, composition.accepted, new Map(serving.map((e) => [e.name, e])), (name) => extensionPolicy(this.#options, name));
    this.#snapshots.publish(composition.schema, serving);

    const composeError = (ext: Extension, error: Error) =>
      this.#failed(this.#entries.get(ext.name)!, ext.version, new ExtensionLoadError(ext.name, 'compose', error.message.replace(/^extension "[^"]+": /, '')));
    for (const [ext, error] of refused) {
      composeError(ext, error);
      void ext.close(); // never served
    }
    for (const ext of all) {
      const entry = this.#entries.get(ext.name)!;
      const error = rejected.get(ext.name);
      if (error && !refused.has(ext)) {
        // An established extension that no longer composes (it used a type that left) stops serving.
        composeError(ext, error);
        entry.active = undefined;
        entry.state = 'failed';
      }
      if (error || !candidates.includes(ext)) continue;
      const previous = entry.active?.ext;
      entry.active = { ext, loadedAt: new Date() };
      entry.state = 'ready';
      entry.version = ext.version;
      entry.error = undefined;
      this.#event(previous ? 'reloaded' : 'loaded', { name: ext.name, version: ext.version });
    }
    for (const name of removed) {
      const entry = this.#entries.get(name);
      if (!entry?.active) continue;
      const version = entry.active.ext.version;
      entry.active = undefined;
      entry.state = 'unloaded';
      this.#event('unloaded', { name, version });
    }
  }

  /** Composes the established extensions (minus those replaced or removed), then `candidates`. */
  #compose(candidates: Extension[], removed: string[]) {
    const replaced = new Set([...candidates.map((e) => e.name), ...removed]);
    const established = [...this.#entries.values()]
      .filter((e) => e.active && !replaced.has(e.name))
      .map((e) => e.active!.ext)
      .sort((a, b) => a.name.localeCompare(b.name));
    const all = [...established, ...candidates];
    const namespaceOf = (name: string) => this.#options.extensions[name]?.namespace ?? this.#options.namespace;
    const composition = composeSchema(
      this.#options.schema,
      all.map((ext) => ({ name: ext.name, sdl: ext.sdl, namespace: namespaceOf(ext.name) })),
    );
    return { composition, all, rejected: new Map(composition.rejected.map((r) => [r.name, r.error])) };
  }

  #failed(entry: Entry, version: string | undefined, error: Error): void {
    entry.error = error.message;
    if (version) entry.version = version;
    if (!entry.active) entry.state = 'failed';
    this.#event('failed', { name: entry.name, ...(version ? { version } : {}), error });
  }

  #event(kind: 'loaded' | 'reloaded' | 'unloaded' | 'failed', event: ExtensionEvent): void {
    const { logger } = this.#options;
    const fields = { extension: event.name, ...(event.version ? { version: event.version.slice(0, 12) } : {}) };
    if (kind === 'failed') logger.error({ ...fields, err: event.error }, `extension ${event.name} failed: ${event.error?.message}`);
    else logger.info(fields, `extension ${event.name} ${kind}`);
    this.emit(kind, event);
  }
}
