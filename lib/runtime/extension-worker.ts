/**
 * Worker thread entry for `isolation: 'worker'`: owns one extension's instance and database
 * connection (see instance-server.ts). The main thread terminates this thread at a deadline,
 * but only while it is outside native database code (native-guard.ts); SQLite then discards
 * any transaction it left unfinished.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendSpec } from './backend.js';
import { serveInstance, type InstanceRequest } from './instance-server.js';
import { NativeGuard } from './native-guard.js';

const { spec, nativeFlag } = workerData as { spec: BackendSpec; nativeFlag: Int32Array };
const port = parentPort!;

serveInstance(
  {
    send: (reply, transfer) => port.postMessage(reply, transfer),
    onMessage: (handler) => port.on('message', (msg: InstanceRequest) => handler(msg)),
  },
  () => spec,
  new NativeGuard(nativeFlag),
  () => port.close(),
);
