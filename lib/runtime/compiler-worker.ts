/**
 * Worker thread entry: transpiles one component off the main thread, so a reload never stalls
 * the requests being served. Receives the bytes, answers `{ ok }` or `{ error }`, exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { transpileComponent, type Transpiled } from './transpile.js';

/** The message this worker posts back. */
export type CompilerReply = { ok: Transpiled } | { error: string };

const bytes = workerData as Uint8Array;
let reply: CompilerReply;
try {
  const { glue, coreModules } = await transpileComponent(bytes);
  // Each module gets its own buffer so all of them can be transferred, not copied.
  const own = Object.fromEntries(Object.entries(coreModules).map(([file, m]) => [file, m.slice()]));
  reply = { ok: { glue, coreModules: own } };
} catch (e) {
  reply = { error: e instanceof Error ? e.message : String(e) };
}
const transfer = 'ok' in reply ? Object.values(reply.ok.coreModules).map((m) => m.buffer as ArrayBuffer) : [];
parentPort!.postMessage(reply, transfer);
