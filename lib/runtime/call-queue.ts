/**
 * How an extension's pending fields are grouped into calls: reads join the last queued call
 * while it has room, up to a bounded size, so the deadline (`limits.timeoutMs`) is that of a
 * bounded amount of work; each write goes alone.
 */
import type { ExtensionCallError } from './errors.js';
import type { RequestBudget } from './request-budget.js';
import type { WireRequest } from './wire.js';

/**
 * Most fields one `resolve-batch` carries; more wait for the next call. Small enough that one
 * call's work (and its answers, held in guest memory together) stays modest, large enough that
 * a page of 50 items' nested fields is still one call.
 */
export const MAX_BATCH_FIELDS = 64;
/** Most request bytes (arguments + parents + contexts) one call carries (a larger single field goes alone). */
export const MAX_BATCH_REQUEST_BYTES = 1024 * 1024;

/** One field waiting for its call. */
export interface Pending {
  wire: WireRequest;
  /** The request's bytes (arguments + parent + context). */
  bytes: number;
  budget: RequestBudget | undefined;
  resolve: (value: unknown) => void;
  reject: (error: ExtensionCallError) => void;
}

/** One future call. */
export interface Job {
  write: boolean;
  items: Pending[];
  bytes: number;
  /** Re-run after a shared call failed: never split again. */
  retry?: boolean;
}

/** Queues `pending`: into the last call if it is a read with room, else as a call of its own. */
export function enqueue(queue: Job[], pending: Pending, write: boolean): void {
  const last = queue[queue.length - 1];
  if (last && !write && !last.write && !last.retry && last.items.length < MAX_BATCH_FIELDS && last.bytes + pending.bytes <= MAX_BATCH_REQUEST_BYTES) {
    last.items.push(pending);
    last.bytes += pending.bytes;
  } else {
    queue.push({ write, items: [pending], bytes: pending.bytes });
  }
}

/** The fields of a call, by the request they belong to (fields without a budget form one group), most fields first. */
export function byRequest(items: Pending[]): Pending[][] {
  const groups = new Map<RequestBudget | undefined, Pending[]>();
  for (const p of items) {
    const group = groups.get(p.budget);
    if (group) group.push(p);
    else groups.set(p.budget, [p]);
  }
  return [...groups.values()].sort((a, b) => b.length - a.length);
}

/** A call of `items` of its own, run before anything else queued and never split again. */
export function retryJob(items: Pending[]): Job {
  return { write: false, items, bytes: items.reduce((n, p) => n + p.bytes, 0), retry: true };
}
