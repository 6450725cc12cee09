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
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { extensionNameFromFile } from '../data/names.js';
import { ExtensionLoadError, messageOf } from '../runtime/errors.js';
import type { Extension } from '../runtime/extension.js';
import { sha256Hex } from '../runtime/compile.js';
import { loadExtension } from '../runtime/load.js';
import { composeSchema } from '../schema/compose.js';
import { changeOf, extensionFiles, isGone, type FileChange } from './file-change.js';
import { lockedRetryDelayMs } from './locked-retry.js';
import { extensionLoadOptions, extensionPolicy, resolveHostOptions, type HostOptions, type ResolvedHostOptions } from './options.js';
import { recomposeCommitted, type Rejection } from './recompose.js';
import { SnapshotTracker, type Snapshot } from './snapshots.js';
import { statusOf, type Entry, type ExtensionEvent, type ExtensionStatus } from './status.js';
import { watchExtensions } from './watcher.js';

export type { ExtensionEvent, ExtensionStatus };

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
  /** Aborted by `close()`: a load in progress (an `init` that never returns) must not hold it up. */
  readonly #loads = new AbortController();

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
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map(statusOf);
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
    this.#loads.abort();
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
      const { logger } = this.#options;
      this.#watcher = await watchExtensions(
        this.dir,
        (file) => this.#apply(() => this.#fileChanged(file), `reloading ${file}`),
        (e) => logger.error({ err: e }, `forge-extensions: watching ${this.dir} failed: ${e.message}`),
        (event) => {
          if (event === 'removed') logger.warn({ dir: this.dir }, `forge-extensions: the extensions directory ${this.dir} was removed (or is no longer a directory); its extensions stop serving until it is back`);
          else logger.info({ dir: this.dir }, `forge-extensions: the extensions directory ${this.dir} is ${event === 'added' ? 'back' : 'another directory now'}`);
          this.#apply(() => this.#rescan(), `rescanning ${this.dir}`);
        },
      );
    }
    const bytes = await Promise.all(extensionFiles(this.dir).map(async (file) => [file, await this.#read(file)] as const));
    await this.#loadAndSwap(bytes);
  }

  /** Queues a change; a failure is logged (the watcher has no one else to tell). */
  #apply(change: () => Promise<void>, what: string): void {
    void this.#enqueue(change).catch((e: Error) => this.#options.logger.error({ err: e }, `forge-extensions: ${what} failed: ${e.message}`));
  }

  /**
   * The directory came back, went away or was replaced: every file it holds, and every file
   * known, is looked at again, and what changed swaps in as one snapshot (a release switched
   * at once serves at once: no new version is judged against the old versions of the others).
   */
  async #rescan(): Promise<void> {
    const files = new Set([...extensionFiles(this.dir), ...[...this.#entries.values()].map((e) => e.file)]);
    const changes = await Promise.all([...files].map((file) => this.#changeOf(file)));
    const loaded = await Promise.all(changes.map((c) => c?.kind === 'load' && this.#load(c.file, c.bytes, c.version)));
    const removed = changes.flatMap((c) => (c?.kind === 'remove' ? [c.name] : []));
    const incoming = loaded.filter((x): x is Extension => x instanceof Object);
    if (incoming.length > 0 || removed.length > 0) await this.#swap(incoming, removed);
  }

  /** Loads the given files' bytes (skipping those unread) and swaps them in together. */
  async #loadAndSwap(files: ReadonlyArray<readonly [string, Uint8Array | undefined]>): Promise<void> {
    const loaded = await Promise.all(files.map(async ([file, bytes]) => bytes && this.#load(file, bytes, await sha256Hex(bytes))));
    await this.#swap(loaded.filter((x): x is Extension => x !== undefined), []);
  }

  /**
   * Extensions that failed to compose using one of `types` (now defined by an extension that
   * just started serving) are loaded again from their files: they may have failed only because
   * that extension was missing.
   */
  async #retryDependents(types: ReadonlySet<string>): Promise<void> {
    // `uses` is set while the latest version is refused at composition, serving an older one or not.
    const waiting = [...this.#entries.values()].filter((e) => e.state !== 'unloaded' && [...(e.uses ?? [])].some((t) => types.has(t)));
    if (waiting.length === 0) return;
    await this.#loadAndSwap(await Promise.all(waiting.map(async (e) => [e.file, await this.#read(e.file)] as const)));
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
      if (isGone(e)) return undefined; // gone, or its directory is
      const entry = this.#entry(file);
      this.#failed(entry, undefined, new ExtensionLoadError(entry.name, 'read', messageOf(e), { cause: e }));
      return undefined;
    }
  }

  /** A watched file was added, changed or removed: load the new version or unload the old. */
  async #fileChanged(file: string): Promise<void> {
    const change = await this.#changeOf(file);
    if (change?.kind === 'remove') await this.#swap([], [change.name]);
    if (change?.kind !== 'load') return;
    const ext = await this.#load(file, change.bytes, change.version);
    if (ext) await this.#swap([ext], []);
  }

  /** What `file` as it is now asks for ({@link changeOf}). */
  async #changeOf(file: string): Promise<FileChange | undefined> {
    const entry = this.#entries.get(extensionNameFromFile(file));
    return changeOf(file, await this.#read(file), entry);
  }

  /** Loads one file's bytes into a running Extension (not yet serving); records a failure on its entry. */
  async #load(file: string, bytes: Uint8Array, version: string): Promise<Extension | undefined> {
    const entry = this.#entry(file);
    const name = entry.name;
    if (this.#options.extensions[name]?.enabled === false) {
      entry.state = 'disabled';
      return undefined;
    }
    entry.version = version;
    entry.uses = undefined; // set again if this version fails to compose
    try {
      const ext = await loadExtension(bytes, extensionLoadOptions(this.#options, name, this.#loads.signal));
      ext.on('failed', ({ reason }: { reason: string }) => this.#failed(entry, ext.version, new Error(reason)));
      return ext;
    } catch (e) {
      if (this.#closed) return undefined; // aborted by close(): not the extension's failure
      const error = e instanceof Error ? e : new Error(messageOf(e));
      this.#failed(entry, undefined, error);
      this.#retryIfLocked(entry, file, version, e);
      return undefined;
    }
  }

  /** A version refused for a locked database is tried again later ({@link lockedRetryDelayMs}). */
  #retryIfLocked(entry: Entry, file: string, version: string, e: unknown): void {
    const delayMs = lockedRetryDelayMs(entry, version, e);
    if (delayMs === undefined) return;
    this.#options.logger.warn({ extension: entry.name }, `extension ${entry.name}: its database is locked; trying again in ${delayMs / 1000} s`);
    setTimeout(() => this.#apply(() => this.#fileChanged(file), `loading ${file} again`), delayMs).unref();
  }

  /**
   * Composes the schema with `incoming` (new versions) and without `removed`, commits the
   * migrations of the new versions it accepts ({@link recomposeCommitted}), swaps the snapshot,
   * then records what changed.
   */
  async #swap(incoming: Extension[], removed: string[]): Promise<void> {
    const { change, failed } = await recomposeCommitted({
      base: this.#options.schema,
      serving: [...this.#entries.values()].flatMap((e) => (e.active ? [e.active.ext] : [])),
      incoming,
      removed,
      isServing: (name) => this.#entries.get(name)?.active !== undefined,
      namespaceOf: (name) => this.#options.extensions[name]?.namespace ?? this.#options.namespace,
      policyOf: (name) => extensionPolicy(this.#options, name),
    }).catch(async (e: unknown) => {
      // Never to serve: their held migrations (and their writers waiting) must not wait forever.
      await Promise.all(incoming.map((ext) => ext.close()));
      throw e;
    });
    this.#snapshots.publish(change.schema, change.serving);

    const composeError = (ext: Extension, { error, uses }: Rejection) => {
      const entry = this.#entries.get(ext.name)!;
      entry.uses = uses;
      if (change.stopped.has(ext)) entry.active = undefined; // it used a type that left
      this.#failed(entry, ext.version, new ExtensionLoadError(ext.name, 'compose', error.message.replace(/^extension "[^"]+": /, '')));
    };
    for (const [ext, rejection] of change.refused) {
      composeError(ext, rejection);
      void ext.close(); // never served
    }
    for (const [ext, rejection] of change.stopped) composeError(ext, rejection);
    for (const [ext, error] of failed) this.#failed(this.#entries.get(ext.name)!, ext.version, error);
    for (const ext of change.started) {
      const entry = this.#entries.get(ext.name)!;
      const previous = entry.active?.ext;
      Object.assign(entry, { active: { ext, loadedAt: new Date() }, state: 'ready', version: ext.version, error: undefined, uses: undefined, lockedRetries: undefined });
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
    if (change.defined.size > 0) this.#apply(() => this.#retryDependents(change.defined), 'loading the extensions that wait for a type');
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
