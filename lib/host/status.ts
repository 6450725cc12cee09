/**
 * What the host knows of each extension (an {@link Entry}) and how `host.status()` reports it.
 */
import type { Extension } from '../runtime/extension.js';

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

/** @internal The host's record of one extension. */
export interface Entry {
  name: string;
  file: string;
  state: ExtensionStatus['state'];
  active?: { ext: Extension; loadedAt: Date };
  /** sha256 of the latest file content seen (loaded or refused): an unchanged file is not reloaded. */
  version?: string;
  error?: string;
  /**
   * Set while its latest version is refused at composition (whether or not an older version
   * serves): the types its SDL uses but does not define. When an extension defining one of them
   * starts serving, it is loaded again (it may have failed only because that extension was
   * missing).
   */
  uses?: ReadonlySet<string>;
  /** How many times a version was tried again because its database was locked (see locked-retry.ts). */
  lockedRetries?: { version: string; tries: number };
}

/** `entry` as `host.status()` reports it. */
export function statusOf(entry: Entry): ExtensionStatus {
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
}
