/**
 * Child for process-restart.test.ts: loads an extension in process isolation while the host has
 * almost no file descriptor left (spawning its process fails with EMFILE), then again once they
 * are back. Prints one JSON line per step; a crash of this process is the failure under test.
 *
 *   node no-fds.js <counter.wasm> <dataDir> <cacheDir>
 */
import { closeSync, openSync } from 'node:fs';
import { loadExtension } from '../../lib/runtime/load.js';
import { silentLogger } from '../../lib/runtime/logger.js';

const [file, dataDir, cacheDir] = process.argv.slice(2) as [string, string, string];
const step = (name: string, value: unknown) => console.log(JSON.stringify({ step: name, value }));
const options = { dataDir, cacheDir, logger: silentLogger };
const hello = async () => {
  const ext = await loadExtension(file, options);
  try {
    return { ok: await ext.resolveField({ typeName: 'Query', fieldName: 'hello' }) };
  } finally {
    await ext.close();
  }
};

// Warm the in-memory compile cache, so the load below needs descriptors only to read the file and spawn.
step('warm', await hello());
const held: number[] = [];
try {
  for (;;) held.push(openSync('/dev/null', 'r'));
} catch {
  // EMFILE: the table is full
}
// Room to read the file, not to spawn (stderr pipe + IPC socket pair).
for (let i = 0; i < 3; i++) closeSync(held.pop()!);
step('starved', await hello().catch((e: Error) => ({ error: e.name, message: e.message })));
for (const fd of held) closeSync(fd);
step('after', await hello());
