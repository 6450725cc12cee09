/**
 * Worker thread entry: transpiles components off the main thread, so a reload never stalls
 * the requests being served. It stays up between jobs (starting jco costs ~0.4 s) and answers
 * each `{ id, bytes }` with `{ id, ok }` or `{ id, error }`.
 */
import { parentPort } from 'node:worker_threads';
import { transpileComponent, type Transpiled } from './transpile.js';

/** The message this worker posts back. */
export type CompilerReply = { id: number } & ({ ok: Transpiled } | { error: string });

parentPort!.on('message', async ({ id, bytes }: { id: number; bytes: Uint8Array }) => {
  let reply: CompilerReply;
  try {
    const { glue, coreModules } = await transpileComponent(bytes);
    // Each module gets its own buffer so all of them can be transferred, not copied.
    const own = Object.fromEntries(Object.entries(coreModules).map(([file, m]) => [file, m.slice()]));
    reply = { id, ok: { glue, coreModules: own } };
  } catch (e) {
    reply = { id, error: e instanceof Error ? e.message : String(e) };
  }
  const transfer = 'ok' in reply ? Object.values(reply.ok.coreModules).map((m) => m.buffer as ArrayBuffer) : [];
  parentPort!.postMessage(reply, transfer);
});
