/**
 * Admission and execution as the HTTP handler runs them: a request's document is bounded,
 * checked against the request budgets and validated before anything runs for it, and results
 * are serialised without a per-value replacer.
 */
import { getOperationAST, GraphQLError, Kind, type DocumentNode, type ExecutionResult, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
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
  const introspection = introspectionFields(document, params.operationName);
  if (introspection > MAX_INTROSPECTION_FIELDS) {
    return [
      new GraphQLError(
        `the operation selects __schema or __type ${introspection} times; at most ${MAX_INTROSPECTION_FIELDS} per request (each answers with a description of the schema)`,
        { extensions: { code: 'INTROSPECTION_LIMIT', count: introspection, limit: MAX_INTROSPECTION_FIELDS } },
      ),
    ];
  }
  const overBudget = checkStaticBudgets(schema, document, params.operationName);
  if (overBudget.length > 0) return overBudget;
  const invalid = cache.validate(schema, document);
  if (invalid.length > 0) return invalid;
  return { schema, document, operationName: params.operationName, variableValues: params.variables, rootValue: startRequest(schema) };
}

/**
 * Most `__schema` / `__type` selections one operation may make (aliases and fragment spreads
 * each count): an alias of an introspection field repeats a description of the whole schema,
 * which no budget counts (it is no extension's work), so 80 aliases of a 3 KB document answered
 * 4.3 MB. GraphiQL and other tools send one.
 */
export const MAX_INTROSPECTION_FIELDS = 3;

/**
 * The introspection root fields (`__schema`, `__type`) the operation selects at its root, through
 * inline fragments and fragment spreads (a spread counts each time it is spread). Each fragment
 * is counted once and remembered, so nested spreads cannot multiply the work; a cycle (refused
 * later by validation) counts 0. Linear in the document's size.
 */
function introspectionFields(document: DocumentNode, operationName: string | null | undefined): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const counted = new Map<string, number>();
  const count = (set: SelectionSetNode): number => {
    let n = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) n += s.name.value === '__schema' || s.name.value === '__type' ? 1 : 0;
      else if (s.kind === Kind.INLINE_FRAGMENT) n += count(s.selectionSet);
      else {
        const name = s.name.value;
        if (!counted.has(name)) {
          counted.set(name, 0); // a cycle back to it counts 0
          const fragment = fragments.get(name);
          counted.set(name, fragment ? count(fragment.selectionSet) : 0);
        }
        n += counted.get(name)!;
      }
      // Past the limit, the exact count no longer matters (and cannot grow without bound).
      if (n > MAX_INTROSPECTION_FIELDS) return n;
    }
    return n;
  };
  return count(operation.selectionSet);
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
