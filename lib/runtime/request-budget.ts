/**
 * What one request may make one extension do: how many fields it may resolve and how many
 * bytes of answers it may bring back. The HTTP layer starts one {@link RequestBudget} per request
 * and extension and hands it with every {@link FieldRequest}; the extension charges it before a
 * field is sent and when its answer arrives. Once spent, the request's remaining fields for that
 * extension fail with `EXTENSION_REQUEST_BUDGET` without being sent.
 */

import type { AnswerBudget, JsonText, WireCall, WireResult } from './wire.js';

/** The runtime budgets of one request for one extension. */
export interface RuntimeBudgets {
  /** Fields resolved (calls, counting every element of a list). */
  maxResolvedFields: number;
  /** Bytes of answers (the extension's JSON, before parsing). */
  maxAnswerBytes: number;
  /**
   * JSON values in answers (see {@link countJsonValues}). GraphQL completes a list's values in
   * one synchronous pass, so this, not bytes, bounds how long an answer blocks the event loop.
   */
  maxAnswerValues: number;
}

export class RequestBudget {
  /** Fields charged so far. */
  fields = 0;
  /** Answer bytes charged so far. */
  answerBytes = 0;
  /** Answer values charged so far. */
  answerValues = 0;
  /** Why the budget is spent (the message every later field fails with), once it is. */
  spent: string | undefined;

  constructor(
    readonly extension: string,
    readonly budgets: Readonly<RuntimeBudgets>,
  ) {}

  /** Spends the budget: the request's later fields for this extension fail with `reason`. */
  spend(reason: string): void {
    this.spent ??= reason;
  }

  /** Charges one field; returns the refusal message if the budget does not allow it. */
  chargeField(): string | undefined {
    if (this.spent) return this.spent;
    if (++this.fields > this.budgets.maxResolvedFields) {
      this.spent = `the request resolves more than ${this.budgets.maxResolvedFields} fields of extension "${this.extension}" (budgets.maxResolvedFields)`;
    }
    return this.spent;
  }

  /**
   * Charges one error the extension answered (`err(message)`): its message reaches the client
   * like an answer, so its bytes count (and one value). Returns the refusal message if it does
   * not fit.
   */
  chargeError(message: string): string | undefined {
    if (this.spent) return this.spent;
    this.answerValues++;
    return this.#chargeBytes(Buffer.byteLength(message));
  }

  /**
   * Charges one answer (its JSON, not yet parsed: bytes counted as UTF-8); `values`, its JSON
   * values when the instance counted them already. Returns the refusal message if it does not fit.
   */
  chargeAnswer(answer: JsonText, values?: number): string | undefined {
    if (this.spent) return this.spent;
    if (this.#chargeBytes(typeof answer === 'string' ? Buffer.byteLength(answer) : answer.length)) return this.spent;
    // The scan stops once over budget: a huge answer costs only the part the budget allows.
    this.answerValues += values ?? countJsonValues(answer, this.budgets.maxAnswerValues - this.answerValues);
    if (this.answerValues > this.budgets.maxAnswerValues) {
      this.spent = `the answers of extension "${this.extension}" to this request reached ${this.answerValues} JSON values, above the budget of ${this.budgets.maxAnswerValues} (budgets.maxAnswerValues)`;
    }
    return this.spent;
  }

  #chargeBytes(bytes: number): string | undefined {
    this.answerBytes += bytes;
    if (this.answerBytes > this.budgets.maxAnswerBytes) {
      this.spent ??= `the answers of extension "${this.extension}" to this request reached ${this.answerBytes} bytes, above the budget of ${this.budgets.maxAnswerBytes} (budgets.maxAnswerBytes)`;
    }
    return this.spent;
  }
}

/**
 * The JSON values in `json`, counted without parsing: 1, plus one per `[`, `{` and `,` outside
 * strings (so `[1,2,3]` is 4: the list and its items; `{"a":1}` is 2). Exact enough for a budget
 * (an empty list or object counts one more than it holds), and a few ns per byte. Stops
 * counting once the count exceeds `stopAfter`.
 */
export function countJsonValues(json: JsonText, stopAfter = Infinity): number {
  let values = 1;
  let inString = false;
  const text = typeof json === 'string';
  for (let i = 0; i < json.length && values <= stopAfter; i++) {
    // A string's UTF-16 units and UTF-8 bytes agree on every ASCII character, the only ones counted.
    const b = text ? (json as string).charCodeAt(i) : (json as Uint8Array)[i]!;
    if (inString) {
      if (b === 0x5c) i++; // a backslash escapes the next byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x2c || b === 0x5b || b === 0x7b) values++;
  }
  return values;
}

/**
 * A call's results with the answers (and `err` messages) its requests' budgets do not allow
 * replaced by the refusal (`EXTENSION_REQUEST_BUDGET`), charged in order per budget exactly as
 * the host charges them (see {@link WireCall.budgets}); each answer allowed carries the number of
 * its JSON values (the host charges it without counting again). What each instance applies to a
 * call's results before they leave it; inside a Mutation's transaction, so a refused write rolls
 * back.
 */
export function withinAnswerBudgets(extension: string, call: WireCall, results: WireResult[]): WireResult[] {
  const budgets = call.budgets.map((limit) => {
    const budget = new RequestBudget(extension, { maxResolvedFields: Infinity, maxAnswerBytes: limit.maxAnswerBytes, maxAnswerValues: limit.maxAnswerValues });
    budget.answerBytes = limit.answerBytes;
    budget.answerValues = limit.answerValues;
    return budget;
  });
  return results.map((r, i) => {
    const budget = budgets[call.budgetOf[i]!];
    if (!budget) return r;
    if ('err' in r) {
      const refusal = budget.chargeError(r.err);
      return refusal ? { err: `${refusal}; refused before it left the extension`, code: 'EXTENSION_REQUEST_BUDGET' } : r;
    }
    const before = budget.answerValues;
    const refusal = budget.chargeAnswer(r.ok);
    // Counted here, so the host charges the same number without counting again.
    return refusal ? { err: `${refusal}; refused before it left the extension`, code: 'EXTENSION_REQUEST_BUDGET' } : { ...r, values: budget.answerValues - before };
  });
}

/** The answer budget of `budget` as a call carries it (see {@link WireCall.budgets}). */
export function answerBudgetOf(budget: RequestBudget): AnswerBudget {
  const { maxAnswerBytes, maxAnswerValues } = budget.budgets;
  return { maxAnswerBytes, maxAnswerValues, answerBytes: budget.answerBytes, answerValues: budget.answerValues };
}
