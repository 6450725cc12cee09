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
 * - The directory itself may be removed and created again (a deploy that replaces it): a watch
 *   on it would end with it (paulmillr/chokidar#1278), so the watch is on its parent, limited to
 *   the directory and its direct children, as chokidar's maintainers advise. Its removal and
 *   return are reported once each.
 */
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export const STABILITY_MS = 100;
export const DEBOUNCE_MS = 20;

/** A file the host should look at again. */
export type OnChange = (file: string) => void;

/** The directory was removed (`'removed'`) or is there again (`'added'`). */
export type OnDirectory = (event: 'removed' | 'added') => void;

/** Starts watching `dir` (absolute); resolves once the watcher is ready. */
export async function watchExtensions(
  dir: string,
  onChange: OnChange,
  onError: (e: Error) => void,
  onDirectory: OnDirectory = () => {},
): Promise<{ close(): Promise<void> }> {
  dir = resolve(dir);
  const timers = new Map<string, NodeJS.Timeout>();
  const changed = (file: string) => {
    if (!isExtensionFile(file) || dirname(file) !== dir) return;
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        onChange(file);
      }, DEBOUNCE_MS),
    );
  };
  const parent = dirname(dir);
  const watcher: FSWatcher = watch(parent, {
    ignoreInitial: true,
    depth: 1,
    // chokidar 4+ takes no globs: a function decides. Only the parent, the directory and the
    // extension files directly in it pass (never the parent's other entries).
    ignored: (path, stats) => {
      if (path === parent || path === dir) return false;
      const inDir = relative(dir, path);
      if (inDir.startsWith('..') || inDir.includes(sep)) return true;
      return (stats?.isFile() ?? false) && !isExtensionFile(path);
    },
    awaitWriteFinish: { stabilityThreshold: STABILITY_MS, pollInterval: 25 },
  });
  let present = true;
  const directory = (path: string, event: 'removed' | 'added') => {
    if (path !== dir || present === (event === 'added')) return;
    present = event === 'added';
    onDirectory(event);
  };
  watcher
    .on('add', changed)
    .on('change', changed)
    .on('unlink', changed)
    .on('unlinkDir', (path) => directory(path, 'removed'))
    .on('addDir', (path) => directory(path, 'added'))
    .on('error', (e) => onError(e as Error));
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
