/**
 * Admission and execution as the HTTP handler runs them: a request's document is bounded,
 * checked against the request budgets and validated before anything runs for it, and results
 * are serialised without a per-value replacer.
 */
import { GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { OperationArgs, Response as GraphqlHttpResponse, RequestParams } from 'graphql-http';
import { checkStaticBudgets, startRequest } from '../schema/budget.js';
import type { DocumentCache } from './document-cache.js';

/**
 * What a request may execute (graphql-http's `onSubscribe`), cheapest refusal first, each step
 * linear in the document: parse within the document limits (`DOCUMENT_TOO_LARGE`), the static
 * budget count (`budgets.maxFields`, `EXTENSION_REQUEST_BUDGET`: no need to validate an
 * operation that will not run), then the specified validation rules. A refusal is the errors
 * alone (no `data`), answered as graphql-http answers a bad request; the application's
 * `context` is only built for an admitted operation. An admitted operation gets its own runtime
 * budgets (carried as its `rootValue`).
 */
export function admitOperation(cache: DocumentCache, schema: GraphQLSchema, params: RequestParams): OperationArgs<Record<string, unknown>> | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = cache.parse(params.query);
  } catch (e) {
    // A syntax error (a GraphQLError) or, for a document nested past the stack, a RangeError.
    return [e instanceof GraphQLError ? e : new GraphQLError(`the document could not be parsed: ${(e as Error)?.message ?? e}`)];
  }
  const overBudget = checkStaticBudgets(schema, document, params.operationName);
  if (overBudget.length > 0) return overBudget;
  const invalid = cache.validate(schema, document);
  if (invalid.length > 0) return invalid;
  return { schema, document, operationName: params.operationName, variableValues: params.variables, rootValue: startRequest(schema) };
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
