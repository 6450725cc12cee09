/**
 * What the application grants each extension per request: its request budgets and the part of
 * the request context it receives.
 *
 * Context is least privilege by default: an extension receives `{}` unless the application
 * grants it keys (`extensions.<name>.context: ['userId']`) or a function
 * (`(ctx) => ({ userId: ctx.userId })`). Extensions are third-party code that may keep what they
 * receive and hand it to another client; a credential (an `Authorization` header, a session
 * token) must only go to an extension that needs it.
 */
import { DEFAULT_REQUEST_BUDGETS, type RequestBudgets } from './budget.js';

/**
 * The context keys an extension receives, or a function choosing its context from the request's
 * (it must return a plain, JSON-serialisable object).
 */
export type ContextGrant = readonly string[] | ((context: Record<string, unknown>) => Record<string, unknown>);

/** One extension's grants. */
export interface ExtensionPolicy {
  budgets: Readonly<RequestBudgets>;
  /** @default [] (nothing) */
  context: ContextGrant;
}

export const DEFAULT_POLICY: ExtensionPolicy = Object.freeze({ budgets: DEFAULT_REQUEST_BUDGETS, context: Object.freeze([]) });

/** Throws a TypeError (naming `where`) unless `value` is undefined or a {@link ContextGrant}. */
export function checkContextGrant(value: unknown, where: string): void {
  if (value === undefined || typeof value === 'function') return;
  if (!Array.isArray(value) || !value.every((key) => typeof key === 'string')) {
    throw new TypeError(`${where} must be a list of context keys (string[]) or a function (ctx) => object`);
  }
}

const EMPTY = Object.freeze({});
/** Per grant, per request context: the context the extension receives (one object per request, so it is encoded once). */
const granted = new WeakMap<ContextGrant, WeakMap<object, Record<string, unknown>>>();

/** The part of `context` that `grant` lets the extension see. */
export function grantedContext(grant: ContextGrant, context: Record<string, unknown> | null | undefined): Record<string, unknown> {
  if (!context || (Array.isArray(grant) && grant.length === 0)) return EMPTY;
  let byContext = granted.get(grant);
  if (!byContext) granted.set(grant, (byContext = new WeakMap()));
  let value = byContext.get(context);
  if (!value) {
    value = typeof grant === 'function' ? grant(context) : pick(context, grant as readonly string[]);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new TypeError('forge-extensions: an extensions.<name>.context function must return an object');
    }
    byContext.set(context, value);
  }
  return value;
}

function pick(context: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(context, key)) picked[key] = context[key];
  return picked;
}
