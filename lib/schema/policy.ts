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
import { MAX_JSON_DEPTH, shallowJsonText } from '../data/json-depth.js';
import { ExtensionCallError } from '../runtime/errors.js';
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
  /**
   * Told why a grant failed for a request (the function threw, or its result is not a JSON
   * object): the application's fault, so the details go to its log, never to the client.
   * @default ignored
   */
  onGrantError?: (error: Error) => void;
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
/** Per grant, per request: the context the extension receives, or why it cannot have one (one outcome per request, so it is computed, checked and encoded once). */
const granted = new WeakMap<ContextGrant, WeakMap<object, Record<string, unknown> | ExtensionCallError>>();

/**
 * The part of `context` that `policy.context` lets extension `extension` see. Throws an
 * `EXTENSION_CONTEXT` {@link ExtensionCallError} when the grant fails (a function that throws or
 * returns anything but a JSON-serialisable plain object, a granted key whose value is not JSON):
 * the client learns only that, `policy.onGrantError` gets the details, once per request.
 */
export function grantedContext(
  extension: string,
  policy: ExtensionPolicy,
  context: Record<string, unknown> | null | undefined,
  /** What identifies the request (its `rootValue`): an application may hand several requests the same context object, changed in between. @default the context */
  request: object | null | undefined = context,
): Record<string, unknown> {
  const grant = policy.context;
  if (!context || (Array.isArray(grant) && grant.length === 0)) return EMPTY;
  let byContext = granted.get(grant);
  if (!byContext) granted.set(grant, (byContext = new WeakMap()));
  const key = request ?? context;
  let value = byContext.get(key);
  if (!value) {
    try {
      value = checkedGrant(typeof grant === 'function' ? grant(context) : pick(context, grant as readonly string[]));
    } catch (e) {
      const reason = e instanceof Error ? e : new Error(String(e));
      policy.onGrantError?.(reason);
      value = new ExtensionCallError(
        'EXTENSION_CONTEXT',
        extension,
        `the application's context grant for extension "${extension}" failed (extensions.${extension}.context); the server log has the details`,
      );
    }
    byContext.set(key, value);
  }
  if (value instanceof ExtensionCallError) throw value;
  return value;
}

/** `value` if it is a plain object that JSON can carry whole; otherwise throws why not. */
function checkedGrant(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { then?: unknown }).then === 'function') {
    throw new TypeError(`an extensions.<name>.context grant must give a plain object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof (value as { then?: unknown })?.then === 'function' ? 'a promise' : typeof value}`);
  }
  // Throws for a BigInt, a cycle, or a value nested more than MAX_JSON_DEPTH levels (as arguments
  // and parents are refused: the same on every Node line), before any extension is called.
  shallowJsonText(value, MAX_JSON_DEPTH + 1);
  return value as Record<string, unknown>;
}

function pick(context: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(context, key)) picked[key] = context[key];
  return picked;
}
