/**
 * Watches the extensions directory (chokidar) and reports, per extension file, that it changed
 * (added, replaced, written, removed), once per burst of events.
 *
 * - Only `*.wasm` files directly in the directory count; editors' temporary files (`.x.swp`,
 *   `x.wasm~`, `x.wasm.tmp`) and hidden files are ignored.
 * - A change is reported once the file's size has been stable for {@link STABILITY_MS}
 *   (chokidar's `awaitWriteFinish`), so an in-place write still in progress is never loaded
 *   half-written. That wait applies to an atomic replace (write a temp file, rename it over)
 *   too: chokidar cannot tell them apart. It is most of a reload's ~150 ms before loading starts.
 * - Events for one file within {@link DEBOUNCE_MS} of each other are reported once: the host
 *   then looks at the file as it is (present or not, and its sha256).
 */
import { basename } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export const STABILITY_MS = 100;
export const DEBOUNCE_MS = 20;

/** A file the host should look at again. */
export type OnChange = (file: string) => void;

/** Starts watching `dir`; resolves once the watcher is ready. */
export async function watchExtensions(dir: string, onChange: OnChange, onError: (e: Error) => void): Promise<{ close(): Promise<void> }> {
  const timers = new Map<string, NodeJS.Timeout>();
  const changed = (file: string) => {
    if (!isExtensionFile(file)) return;
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        onChange(file);
      }, DEBOUNCE_MS),
    );
  };
  const watcher: FSWatcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    // chokidar 4+ takes no globs: a function decides. Directories pass (the root must).
    ignored: (path, stats) => (stats?.isFile() ?? false) && !isExtensionFile(path),
    awaitWriteFinish: { stabilityThreshold: STABILITY_MS, pollInterval: 25 },
  });
  watcher.on('add', changed).on('change', changed).on('unlink', changed).on('error', (e) => onError(e as Error));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    close: async () => {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await watcher.close();
    },
  };
}

/** `issues.wasm`: yes. `.issues.wasm.swp`, `issues.wasm~`, `issues.wasm.tmp`, `.hidden.wasm`: no. */
export function isExtensionFile(path: string): boolean {
  const name = basename(path);
  return /\.wasm$/i.test(name) && !name.startsWith('.');
}
