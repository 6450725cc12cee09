/**
 * Run by wire-pack.property.test.ts over a real IPC channel (`advanced` serialization, as an
 * extension's process): unpacks each `resolve` request and answers its requests' bytes back as
 * results, packed, the way extension-process.ts does.
 */
import { packReply, unpackRequest } from '../../lib/runtime/wire-pack.js';
import type { WireResult } from '../../lib/runtime/wire.js';

process.on('message', (msg) => {
  const request = unpackRequest(msg as Parameters<typeof unpackRequest>[0]);
  if (request.op !== 'resolve') return;
  // Each request comes back as three results: its arguments, parent (or an err when absent), context.
  const results = request.requests.flatMap((r): WireResult[] => [{ ok: r.arguments }, r.parent ? { ok: r.parent } : { err: `${r.fieldName} has no parent`, code: 'EXTENSION_ERROR' }, { ok: r.context }]);
  process.send!(packReply({ id: request.id, results }));
});
