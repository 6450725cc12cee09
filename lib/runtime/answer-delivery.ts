/**
 * How the fields of a call that returned are settled: each request's budget is charged at once,
 * before the next call starts (so it skips a spent request's fields); answers are parsed from
 * JSON afterwards, once the instance is free, large ones one per event-loop turn.
 */
import type { Pending } from './call-queue.js';
import type { ExtensionCallError, ExtensionErrorCode } from './errors.js';
import { notUtf8Json } from './process-channel.js';
import type { JsonText, WireResult } from './wire.js';

/** Answers larger than this are parsed one per event-loop turn, so one call's answers never block it together. */
export const LARGE_ANSWER_BYTES = 64 * 1024;

/** How the extension makes the errors a field fails with. */
export interface FieldErrors {
  /** The extension's error `code` (e.g. its `err`, or an answer that is not JSON). */
  error(code: ExtensionErrorCode, message: string): ExtensionCallError;
  /** A field refused by its request's budget (counted, never held against the extension). */
  refuse(message: string): ExtensionCallError;
}

/**
 * Settles each of `items` with its result (`results[i]` answers `items[i]`): an `err` rejects
 * with its code, an answer its budget refuses with `EXTENSION_REQUEST_BUDGET`, the others
 * resolve with their parsed JSON (a turn later at the earliest; see {@link deliverAnswers}).
 */
export function settleResults(items: Pending[], results: WireResult[], errors: FieldErrors): void {
  const answered: Array<[Pending, JsonText]> = [];
  items.forEach((p, i) => {
    const r = results[i]!;
    // Refused by the instance, before it was sent (see withinAnswerBudgets): the request is spent.
    if ('err' in r && r.code === 'EXTENSION_REQUEST_BUDGET' && p.budget) {
      p.budget.spend(r.err);
      return p.reject(errors.refuse(r.err));
    }
    const refusal = 'err' in r ? p.budget?.chargeError(r.err) : p.budget?.chargeAnswer(r.ok, r.values);
    if (refusal) return p.reject(errors.refuse(refusal));
    if ('err' in r) return p.reject(errors.error(r.code, r.err));
    answered.push([p, r.ok]);
  });
  void deliverAnswers(answered, errors);
}

/**
 * Parses and settles each answer; each one larger than {@link LARGE_ANSWER_BYTES} gets an
 * event-loop turn of its own. An answer that is not UTF-8 JSON fails with `EXTENSION_BAD_RESPONSE`.
 */
export async function deliverAnswers(answered: Array<[Pending, JsonText]>, errors: FieldErrors): Promise<void> {
  for (const [p, answer] of answered) {
    // GraphQL completes the previous field's value in the microtasks before this turn.
    if (answer.length > LARGE_ANSWER_BYTES) await new Promise((next) => setImmediate(next));
    let value: unknown;
    try {
      value = JSON.parse(typeof answer === 'string' ? answer : decoder.decode(answer));
    } catch (e) {
      p.reject(errors.error('EXTENSION_BAD_RESPONSE', notUtf8Json((e as Error).message)));
      continue;
    }
    p.resolve(value);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });
