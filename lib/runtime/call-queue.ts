/**
 * How an extension's pending fields are grouped into calls: reads of all waiting requests share
 * a call, taken in turn, up to a bounded size, so the deadline (`limits.timeoutMs`) is that of a
 * bounded amount of work and no request waits for all of another's calls; each write goes alone.
 */
import type { ExtensionCallError } from './errors.js';
import { answerBudgetOf, type RequestBudget } from './request-budget.js';
import type { AnswerBudget, WireCall, WireRequest } from './wire.js';

/**
 * Most units of work one call carries; more wait for the next call. A unit is a field the guest
 * resolves, or one statement of SQL resolvers: the fields of a call that share a statement (a
 * keyed field's parents, a root field asked again with the same arguments; see
 * {@link Pending.statement}) count once. Small enough that one call's work (and its answers,
 * held in guest memory together) stays modest, large enough that a page of 50 items' nested
 * fields is still one call.
 */
export const MAX_BATCH_FIELDS = 64;
/**
 * Most fields one call carries, whatever they share: bounds the keys one statement gets and the
 * answers one call holds (a page of 500 items' keyed field is 2 calls).
 */
export const MAX_CALL_FIELDS = 256;
/** Most request bytes (arguments + parents + contexts) one call carries (a larger single field goes alone). */
export const MAX_BATCH_REQUEST_BYTES = 1024 * 1024;

/** One field waiting for its call. */
export interface Pending {
  wire: WireRequest;
  /** The request's bytes (arguments + parent + context). */
  bytes: number;
  /**
   * For a SQL resolver's field: the statement it runs (see `statementKey` in sql-fields.ts);
   * fields with the same key in one call share one statement, so they take one unit of
   * {@link MAX_BATCH_FIELDS} together. Undefined for a field the guest resolves.
   */
  statement?: string;
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

/**
 * The fields waiting for a call, one lane per request (fields without a budget share one), each
 * write a lane of its own. A call is formed when an instance is free, taking fields from the
 * lanes in turn, one each, up to {@link MAX_BATCH_FIELDS} units of work, {@link MAX_CALL_FIELDS}
 * fields and {@link MAX_BATCH_REQUEST_BYTES}; the
 * lanes served go to the back. So a request that queues thousands of fields (aliases under a
 * long list) shares the extension with the requests that arrive after it instead of making them
 * wait for all of its calls. Retries (see `retryJob`) go first, as they are.
 */
export class CallQueue {
  readonly #retries: Job[] = [];
  /** Lanes in turn order. */
  readonly #lanes = new Map<unknown, { write: boolean; items: Pending[] }>();

  get length(): number {
    return this.#retries.length + this.#lanes.size;
  }

  push(pending: Pending, write: boolean): void {
    const key = write ? Symbol('write') : pending.budget;
    const lane = this.#lanes.get(key);
    if (lane) lane.items.push(pending);
    else this.#lanes.set(key, { write, items: [pending] });
  }

  /** Calls of `items` of their own, before anything else queued. */
  #retryFirst(jobs: Job[]): void {
    this.#retries.unshift(...jobs);
  }

  /**
   * For `failed` fields of a call (`call`, all its fields) of several requests, failed by what
   * the call shared — its time or memory, or the bytes its SQL statements read together: which
   * request caused it cannot be told from the call (the one with most fields may be the cheap
   * one), so each request's failed fields run again, in a call of their own, first in line
   * ({@link #retryFirst}), and each request is judged by its own call: a heavy client fails its
   * own request, never the light ones batched with it. Returns the fields that fail now: all of
   * `failed` for a call of one request.
   */
  retryEachAlone(failed: Pending[], call: Pending[] = failed): Pending[] {
    if (byRequest(call).length < 2) return failed;
    this.#retryFirst(byRequest(failed).map(retryJob));
    return [];
  }

  /** The next call to make, if any field waits. */
  next(): Job | undefined {
    const retry = this.#retries.shift();
    if (retry) return retry;
    const first = this.#lanes.entries().next();
    if (first.done) return undefined;
    const [firstKey, firstLane] = first.value;
    if (firstLane.write) {
      this.#lanes.delete(firstKey);
      return { write: true, items: firstLane.items, bytes: firstLane.items[0]!.bytes };
    }
    const job: Job = { write: false, items: [], bytes: 0 };
    const served = new Set<unknown>();
    const statements = new Set<string>();
    let units = 0;
    let progress = true;
    while (progress && job.items.length < MAX_CALL_FIELDS) {
      progress = false;
      for (const [key, lane] of this.#lanes) {
        if (lane.write || job.items.length >= MAX_CALL_FIELDS) continue;
        const p = lane.items[0]!;
        const shared = p.statement !== undefined && statements.has(p.statement);
        if (!shared && units >= MAX_BATCH_FIELDS) continue;
        if (job.items.length > 0 && job.bytes + p.bytes > MAX_BATCH_REQUEST_BYTES) continue;
        lane.items.shift();
        job.items.push(p);
        job.bytes += p.bytes;
        if (!shared) units++;
        if (p.statement !== undefined) statements.add(p.statement);
        served.add(key);
        progress = true;
        if (lane.items.length === 0) this.#lanes.delete(key);
      }
    }
    // The lanes served go to the back, so the next call starts with the others.
    for (const key of served) {
      const lane = this.#lanes.get(key);
      if (!lane) continue;
      this.#lanes.delete(key);
      this.#lanes.set(key, lane);
    }
    return job;
  }

  /** Removes and returns every waiting field. */
  drain(): Pending[] {
    const all = [...this.#retries.flatMap((j) => j.items), ...[...this.#lanes.values()].flatMap((l) => l.items)];
    this.#retries.length = 0;
    this.#lanes.clear();
    return all;
  }
}

/** The fields of a call, by the request they belong to (fields without a budget form one group), most fields first. */
function byRequest(items: Pending[]): Pending[][] {
  const groups = new Map<RequestBudget | undefined, Pending[]>();
  for (const p of items) {
    const group = groups.get(p.budget);
    if (group) group.push(p);
    else groups.set(p.budget, [p]);
  }
  return [...groups.values()].sort((a, b) => b.length - a.length);
}

/** A call of `items` of its own, run before anything else queued and never split again. */
function retryJob(items: Pending[]): Job {
  return { write: false, items, bytes: items.reduce((n, p) => n + p.bytes, 0), retry: true };
}

/** The call of `items`: their requests, and each HTTP request's answer budget once. */
export function callOf(items: Pending[], write: boolean): WireCall {
  const budgets: AnswerBudget[] = [];
  const index = new Map<RequestBudget, number>();
  const budgetOf = items.map(({ budget }) => {
    if (!budget) return -1;
    let k = index.get(budget);
    if (k === undefined) index.set(budget, (k = budgets.push(answerBudgetOf(budget)) - 1));
    return k;
  });
  return { requests: items.map((p) => p.wire), write, budgets, budgetOf };
}
