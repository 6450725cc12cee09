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
 * - The directory itself may be removed and created again, renamed away and back, replaced by
 *   another (`mv new extensions`, a symlink swapped to a new release) or by a file. A chokidar
 *   watch ends with the directory it watches (paulmillr/chokidar#1278), and chokidar's own
 *   `addDir`/`unlinkDir` on the parent miss a directory recreated at once, so the parent is
 *   watched with `fs.watch` for entries of the directory's name only, and the
 *   watch of its files is started again on what is there after each burst of such events; the
 *   change is reported ({@link OnDirectory}), so the host looks at every file again.
 */
import { watch as watchEntries, statSync, type FSWatcher as EntriesWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export const STABILITY_MS = 100;
export const DEBOUNCE_MS = 20;

/** A file the host should look at again. */
export type OnChange = (file: string) => void;

/**
 * The directory is gone or no longer a directory (`'removed'`), is there again (`'added'`), or
 * its path now names another directory (`'replaced'`). Every file should be looked at again.
 */
export type OnDirectory = (event: 'removed' | 'added' | 'replaced') => void;

/** Starts watching `dir` (absolute); resolves once the watcher is ready. */
export async function watchExtensions(
  dir: string,
  onChange: OnChange,
  onError: (e: Error) => void,
  onDirectory: OnDirectory = () => {},
): Promise<{ close(): Promise<void> }> {
  dir = resolve(dir);
  const timers = new Map<string, NodeJS.Timeout>();
  let closed = false;
  const changed = (file: string) => {
    if (closed || !isExtensionFile(file) || dirname(file) !== dir) return;
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        onChange(file);
      }, DEBOUNCE_MS),
    );
  };

  let files: FSWatcher | undefined;
  /** (Re)starts the chokidar watch of the files in `dir` as it is now. */
  const watchFiles = async () => {
    const previous = files;
    files = undefined;
    await previous?.close();
    if (closed || !isDirectory(dir)) return;
    const watcher = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      // chokidar 4+ takes no globs: a function decides (directories pass so the root is watched).
      ignored: (path, stats) => path !== dir && (stats?.isFile() ?? false) && !isExtensionFile(path),
      awaitWriteFinish: { stabilityThreshold: STABILITY_MS, pollInterval: 25 },
    });
    watcher
      .on('add', changed)
      .on('change', changed)
      .on('unlink', changed)
      .on('error', (e) => onError(e as Error));
    files = watcher;
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  };

  // The directory's own entry, in its parent.
  let present = isDirectory(dir);
  let checking: Promise<void> = Promise.resolve();
  let burst: NodeJS.Timeout | undefined;
  const check = async () => {
    // Whatever happened to the entry (even a new directory that reused the inode), the file
    // watch starts again: it is cheap, and only a change of the entry itself gets here.
    const now = isDirectory(dir);
    if (closed || (!now && !present)) return;
    const event = !now ? 'removed' : !present ? 'added' : 'replaced';
    present = now;
    await watchFiles();
    if (!closed) onDirectory(event);
  };
  const name = basename(dir);
  let entries: EntriesWatcher | undefined;
  try {
    entries = watchEntries(dirname(dir), (_event, entry) => {
      if (entry !== null && entry !== name) return;
      clearTimeout(burst);
      burst = setTimeout(() => {
        checking = checking.then(check).catch((e: Error) => onError(e));
      }, DEBOUNCE_MS);
    });
    entries.on('error', (e) => onError(e));
  } catch (e) {
    // An unreadable parent, or no inotify watches left: the files are still watched.
    onError(new Error(`cannot watch ${dirname(dir)} for the directory being replaced: ${(e as Error).message}`));
  }
  await watchFiles();
  return {
    close: async () => {
      closed = true;
      clearTimeout(burst);
      entries?.close();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await checking;
      await files?.close();
    },
  };
}

/** True if `dir` resolves to a directory (a file there, or nothing, is no directory). */
function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** `issues.wasm`: yes. `.issues.wasm.swp`, `issues.wasm~`, `issues.wasm.tmp`, `.hidden.wasm`: no. */
export function isExtensionFile(path: string): boolean {
  const name = basename(path);
  return /\.wasm$/i.test(name) && !name.startsWith('.');
}
