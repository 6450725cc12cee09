/**
 * What crosses an extension process's IPC channel as text. Node's `advanced` serialization
 * (which the channel needs for the start message's module bytes) writes each byte array through
 * a JavaScript callback of its serializer and reads it back through another, but copies a
 * string natively: a call of 50 answers crossing as bytes cost the host's main thread about
 * twice its CPU as text (measured: 460 vs 230 µs a call). So the answers of a call leave the
 * process as strings (requests already are: see {@link WireRequest}). A worker thread's
 * `postMessage` clones byte arrays natively and takes them as they are.
 */
import type { InstanceReply } from './instance-server.js';
import type { WireRequest, WireResult } from './wire.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The message an answer that is not UTF-8 fails with, wherever it is decoded. */
export const notUtf8Json = (why: string) => `the answer is not valid UTF-8 JSON: ${why}`;

/** A reply as it crosses the channel: a call's answers as text; an answer that is not UTF-8 fails (`EXTENSION_BAD_RESPONSE`). */
export function textReply(reply: InstanceReply): InstanceReply {
  if (!('results' in reply)) return reply;
  return { id: reply.id, results: reply.results.map(textResult) };
}

function textResult(r: WireResult): WireResult {
  if (!('ok' in r) || typeof r.ok === 'string') return r;
  try {
    return { ...r, ok: decoder.decode(r.ok) };
  } catch (e) {
    return { err: notUtf8Json((e as Error).message), code: 'EXTENSION_BAD_RESPONSE' };
  }
}
