/**
 * Parse and validate once per distinct query, not once per request.
 *
 * `validate()` is most of a small request's cost (~125 µs measured), and clients send the same
 * few queries over and over. Parsed documents are kept in a bounded LRU keyed by the query text;
 * validation results are kept per (schema snapshot, document). A reload publishes a new schema
 * object, so its documents are validated afresh: the cache is invalidated by construction.
 */
import {
  parse as graphqlParse,
  specifiedRules,
  validate as graphqlValidate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';

/** Queries longer than this are parsed every time rather than cached. */
const MAX_CACHED_QUERY_LENGTH = 64 * 1024;

export interface DocumentCache {
  parse: typeof graphqlParse;
  validate: typeof graphqlValidate;
}

/** A cache for up to `size` distinct queries. */
export function createDocumentCache(size = 1000): DocumentCache {
  const documents = new Map<string, DocumentNode>();
  const validations = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();

  const parse = ((source, options) => {
    if (typeof source !== 'string' || options || source.length > MAX_CACHED_QUERY_LENGTH) return graphqlParse(source, options);
    let document = documents.get(source);
    if (document) {
      documents.delete(source); // refresh its LRU position
    } else {
      document = graphqlParse(source); // a syntax error throws and is not cached
      if (documents.size >= size) documents.delete(documents.keys().next().value!);
    }
    documents.set(source, document);
    return document;
  }) as typeof graphqlParse;

  const validate = ((schema, document, rules, options, typeInfo) => {
    // Only the default rule set is cached; anything custom is validated every time.
    if (rules !== undefined && !isSpecifiedRules(rules)) return graphqlValidate(schema, document, rules, options, typeInfo);
    let bySchema = validations.get(schema);
    if (!bySchema) validations.set(schema, (bySchema = new WeakMap()));
    let errors = bySchema.get(document);
    if (!errors) bySchema.set(document, (errors = graphqlValidate(schema, document, rules, options, typeInfo)));
    return errors;
  }) as typeof graphqlValidate;

  return { parse, validate };
}

/** graphql-http passes a copy of `specifiedRules` (plus any custom ones). */
function isSpecifiedRules(rules: readonly ValidationRule[]): boolean {
  return rules.length === specifiedRules.length && rules.every((rule, i) => rule === specifiedRules[i]);
}
