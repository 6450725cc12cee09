/**
 * What one request may make one extension do: how many fields it may resolve and how many
 * bytes of answers it may bring back. The HTTP layer starts one {@link RequestBudget} per request
 * and extension and hands it with every {@link FieldRequest}; the extension charges it before a
 * field is sent and when its answer arrives. Once spent, the request's remaining fields for that
 * extension fail with `EXTENSION_REQUEST_BUDGET` without being sent.
 */

/** The runtime budgets of one request for one extension. */
export interface RuntimeBudgets {
  /** Fields resolved (calls, counting every element of a list). */
  maxResolvedFields: number;
  /** Bytes of answers (the extension's JSON, before parsing). */
  maxAnswerBytes: number;
}

export class RequestBudget {
  /** Fields charged so far. */
  fields = 0;
  /** Answer bytes charged so far. */
  answerBytes = 0;
  /** Why the budget is spent (the message every later field fails with), once it is. */
  spent: string | undefined;

  constructor(
    readonly extension: string,
    readonly budgets: Readonly<RuntimeBudgets>,
  ) {}

  /** Charges one field; returns the refusal message if the budget does not allow it. */
  chargeField(): string | undefined {
    if (this.spent) return this.spent;
    if (++this.fields > this.budgets.maxResolvedFields) {
      this.spent = `the request resolves more than ${this.budgets.maxResolvedFields} fields of extension "${this.extension}" (budgets.maxResolvedFields)`;
    }
    return this.spent;
  }

  /** Charges one answer of `bytes`; returns the refusal message if it does not fit. */
  chargeAnswer(bytes: number): string | undefined {
    if (this.spent) return this.spent;
    this.answerBytes += bytes;
    if (this.answerBytes > this.budgets.maxAnswerBytes) {
      this.spent = `the answers of extension "${this.extension}" to this request reached ${this.answerBytes} bytes, above the budget of ${this.budgets.maxAnswerBytes} (budgets.maxAnswerBytes)`;
    }
    return this.spent;
  }
}
