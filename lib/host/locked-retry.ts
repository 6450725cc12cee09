/**
 * A version refused only because its database stayed locked past the busy timeout (most likely
 * the old version's write running longer than that) is tried again by itself, after 1, 2, 4, 8
 * and 16 s, rather than waiting for its file to change again.
 */
import { ExtensionLoadError } from '../runtime/errors.js';
import { StartError } from '../runtime/backend.js';
import type { Entry } from './status.js';

/** How many times a version refused for a locked database is tried again. */
export const LOCKED_RETRIES = 5;

/**
 * When `e` (why `entry`'s latest version failed to load) is a locked database and tries are
 * left: the delay before the next try, in ms, counted on `entry` (whose version is forgotten, so
 * the same bytes are not "refused already"). Otherwise undefined.
 */
export function lockedRetryDelayMs(entry: Entry, version: string, e: unknown): number | undefined {
  const locked = e instanceof ExtensionLoadError && e.cause instanceof StartError && e.cause.failure.storage?.kind === 'busy';
  // Counted per version: a new version of the file gets its own tries.
  const tries = entry.lockedRetries?.version === version ? entry.lockedRetries.tries : 0;
  if (!locked || tries >= LOCKED_RETRIES) return undefined;
  entry.lockedRetries = { version, tries: tries + 1 };
  entry.version = undefined;
  return 1000 * 2 ** tries;
}
