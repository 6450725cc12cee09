/**
 * The byte arrays of a call cross an extension process's IPC channel packed into one buffer
 * (wire-pack.ts): fast-check generates calls — empty arrays, absent parents, one context shared
 * by several fields, multi-byte text — and each crosses a real child process and back.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { InstanceReply } from '../lib/runtime/instance-server.js';
import { packRequest, unpackReply } from '../lib/runtime/wire-pack.js';
import type { WireRequest, WireResult } from '../lib/runtime/wire.js';

const bytes = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }).map((s) => new TextEncoder().encode(s)));

/** Fields of one call; `shared` marks those whose context is one array (a request's, as field-encoder.ts shares it). */
const call = fc.record({
  context: bytes,
  fields: fc.array(fc.record({ fieldName: fc.string({ maxLength: 8 }), arguments: bytes, parent: fc.option(bytes, { nil: undefined }), shared: fc.boolean(), own: bytes }), { maxLength: 12 }),
});

describe('wire packing over a process channel (property)', () => {
  let child: ChildProcess;
  before(() => {
    child = fork(fileURLToPath(new URL('./children/wire-echo.js', import.meta.url)), { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  });
  after(() => child.kill());

  const echo = (requests: WireRequest[], id: number) =>
    new Promise<WireResult[]>((resolve) => {
      child.once('message', (msg) => resolve((unpackReply(msg as Parameters<typeof unpackReply>[0]) as Extract<InstanceReply, { results: unknown }>).results));
      child.send(packRequest({ id, op: 'resolve', write: false, requests }));
    });

  it('delivers every byte array of a call as it was sent, in order', async () => {
    let id = 0;
    await fc.assert(
      fc.asyncProperty(call, async ({ context, fields }) => {
        const requests: WireRequest[] = fields.map((f) => ({ typeName: 'T', fieldName: f.fieldName, arguments: f.arguments, context: f.shared ? context : f.own, ...(f.parent ? { parent: f.parent } : {}) }));
        const results = await echo(requests, ++id);
        assert.equal(results.length, requests.length * 3);
        requests.forEach((r, i) => {
          assert.deepEqual(results[3 * i], { ok: r.arguments });
          assert.deepEqual(results[3 * i + 1], r.parent ? { ok: r.parent } : { err: `${r.fieldName} has no parent`, code: 'EXTENSION_ERROR' });
          assert.deepEqual(results[3 * i + 2], { ok: r.context });
        });
      }),
      { numRuns: 200 },
    );
  });
});
