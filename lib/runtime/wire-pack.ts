/**
 * The byte arrays of a call, packed into one buffer for a child process's IPC channel.
 *
 * Node's `advanced` serialization writes each `Uint8Array` through a JavaScript callback of its
 * serializer (`_writeHostObject`) and reads it back through another: a call of 50 fields has
 * 150 of them each way (arguments, parent, context) and 50 more for the answers, a fifth of the
 * host's main thread in a CPU profile of `issues(first: 50) { comments { body } }`. Packed, a
 * message has one byte array whatever it carries; the receiver gets views of it (no copy).
 * A worker thread's `postMessage` clones byte arrays natively: it needs none of this.
 */
import type { InstanceReply, InstanceRequest } from './instance-server.js';
import type { WireRequest, WireResult } from './wire.js';

/** A `resolve` request as it crosses: each byte array is the index of a part of `bytes` (-1: absent). */
interface PackedResolve {
  id: number;
  op: 'resolve-packed';
  write: boolean;
  requests: Array<Omit<WireRequest, 'arguments' | 'parent' | 'context'> & { arguments: number; parent: number; context: number }>;
  parts: PackedParts;
}

/** A call's results as they cross: an answer is the index of its part of `bytes`. */
interface PackedResults {
  id: number;
  packed: Array<number | Extract<WireResult, { err: string }>>;
  parts: PackedParts;
}

/** Byte arrays in one buffer: part `k` ends at `ends[k]` and starts where part `k - 1` ends. */
interface PackedParts {
  bytes: Uint8Array;
  ends: number[];
}

/** Appends byte arrays to one buffer; the same array (a request's context) is stored once. */
class Packer {
  readonly #parts: Uint8Array[] = [];
  readonly #index = new Map<Uint8Array, number>();
  readonly #ends: number[] = [];

  /** The part's index, or -1 for none. */
  add(bytes: Uint8Array | undefined): number {
    if (bytes === undefined) return -1;
    let index = this.#index.get(bytes);
    if (index === undefined) {
      index = this.#parts.push(bytes) - 1;
      this.#ends.push((this.#ends.at(-1) ?? 0) + bytes.length);
      this.#index.set(bytes, index);
    }
    return index;
  }

  parts(): PackedParts {
    const bytes = new Uint8Array(this.#ends.at(-1) ?? 0);
    this.#parts.forEach((part, k) => bytes.set(part, this.#ends[k]! - part.length));
    return { bytes, ends: this.#ends };
  }
}

/** A view of part `k` (no copy), or undefined for -1. */
function part({ bytes, ends }: PackedParts, k: number): Uint8Array | undefined {
  return k < 0 ? undefined : bytes.subarray(k === 0 ? 0 : ends[k - 1], ends[k]);
}

export function packRequest(msg: InstanceRequest): InstanceRequest | PackedResolve {
  if (msg.op !== 'resolve') return msg;
  const packer = new Packer();
  const requests = msg.requests.map((r) => ({ ...r, arguments: packer.add(r.arguments), parent: packer.add(r.parent), context: packer.add(r.context) }));
  return { id: msg.id, op: 'resolve-packed', write: msg.write, requests, parts: packer.parts() };
}

export function unpackRequest(msg: InstanceRequest | PackedResolve): InstanceRequest {
  if (msg.op !== 'resolve-packed') return msg;
  const requests = msg.requests.map(({ arguments: a, parent: p, context: c, ...rest }): WireRequest => {
    const parent = part(msg.parts, p);
    return { ...rest, arguments: part(msg.parts, a)!, context: part(msg.parts, c)!, ...(parent ? { parent } : {}) };
  });
  return { id: msg.id, op: 'resolve', write: msg.write, requests };
}

/** The results of a `resolve`, packed; any other reply as it is. */
export function packReply(reply: InstanceReply): InstanceReply | PackedResults {
  if (!('results' in reply)) return reply;
  const packer = new Packer();
  const packed = reply.results.map((r) => ('ok' in r ? packer.add(r.ok) : r));
  return { id: reply.id, packed, parts: packer.parts() };
}

export function unpackReply(msg: InstanceReply | PackedResults): InstanceReply {
  if (!('packed' in msg)) return msg;
  return { id: msg.id, results: msg.packed.map((r): WireResult => (typeof r === 'number' ? { ok: part(msg.parts, r)! } : r)) };
}
