/**
 * Execution as the HTTP handler runs it: request budgets checked before any extension is called,
 * and results serialised without a per-value replacer.
 */
import { execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Response as GraphqlHttpResponse } from 'graphql-http';
import { checkStaticBudgets, startRequest } from '../schema/budget.js';

/**
 * `execute`, after the operation's static budget check (`budgets.maxFields`): over budget, the
 * answer is the errors alone (no `data`, like a validation error) and no extension is called.
 * Each execution gets its own runtime budgets (carried as its `rootValue`).
 */
export function budgetedExecute(args: ExecutionArgs): ReturnType<typeof execute> {
  const errors = checkStaticBudgets(args.schema, args.document, args.operationName);
  if (errors.length > 0) return { errors };
  return execute({ ...args, rootValue: startRequest(args.schema) });
}

/**
 * Serialises an executed operation's result. graphql-http's own serialisation passes a replacer
 * that JSON.stringify calls for every value (~2 s of blocked event loop for a 30 MB answer,
 * measured with bench/event-loop.ts); a result from `execute` holds only plain data and
 * GraphQLErrors (which serialise themselves), so it needs none. Anything else is left to
 * graphql-http. The media type is chosen as graphql-http chooses it (it has already answered 406
 * when none is acceptable).
 */
export function serializeResult(headers: unknown, result: unknown): GraphqlHttpResponse | undefined {
  if (result === null || typeof result !== 'object' || Symbol.asyncIterator in result) return undefined;
  const json = acceptsJson(headers);
  const type = `${json ? 'application/json' : 'application/graphql-response+json'}; charset=utf-8`;
  // GraphQL over HTTP: an application/graphql-response+json answer without `data` (the request
  // was refused before execution, as by a budget) is a 4xx.
  const refused = !('data' in result) && !json;
  const init = refused ? { status: 400, statusText: 'Bad Request' } : { status: 200, statusText: 'OK' };
  return [JSON.stringify(result as ExecutionResult), { ...init, headers: { 'content-type': type } }];
}

/** graphql-http's choice: the first acceptable entry of `Accept` wins; `application/json` unless it is graphql-response+json. */
function acceptsJson(headers: unknown): boolean {
  const accept = String((headers as Record<string, unknown> | undefined)?.['accept'] ?? '*/*');
  for (const entry of accept.replace(/\s/g, '').toLowerCase().split(',')) {
    const [type, ...params] = entry.split(';');
    const charset = params.find((p) => p.includes('charset=')) ?? 'charset=utf-8';
    if (type === 'application/graphql-response+json' && charset === 'charset=utf-8') return false;
    if ((type === 'application/json' || type === 'application/*' || type === '*/*') && (charset === 'charset=utf-8' || charset === 'charset=utf8')) return true;
  }
  return true;
}
