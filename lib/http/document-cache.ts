/**
 * Parse and validate once per distinct query, not once per request, within the document limits.
 *
 * `validate()` is most of a small request's cost (~125 µs measured), and clients send the same
 * few queries over and over. Parsed documents are kept in a bounded LRU keyed by the query text;
 * validation results are kept per (schema snapshot, document). A reload publishes a new schema
 * object, so its documents are validated afresh: the cache is invalidated by construction.
 *
 * Parsing runs on the event loop before any budget can apply, so it is bounded first: a query
 * longer than `maxDocumentBytes` is refused before it is read, and graphql-js stops parsing at
 * `maxDocumentTokens` lexical tokens (its `maxLexicalTokens`). Both refusals are
 * `DOCUMENT_TOO_LARGE`.
 */
import { GraphQLError, Lexer, parse, Source, TokenKind, validate, type DocumentNode, type GraphQLSchema } from 'graphql';

/** Limits on the GraphQL document of one request. */
export interface DocumentLimits {
  /** Longest `query`, in UTF-8 bytes. */
  maxDocumentBytes: number;
  /** Most lexical tokens in a `query` (punctuators, names, values; comments are not tokens). */
  maxDocumentTokens: number;
}

export const DEFAULT_DOCUMENT_LIMITS: Readonly<DocumentLimits> = {
  maxDocumentBytes: 64 * 1024,
  maxDocumentTokens: 1000,
};

/** Queries longer than this are parsed every time rather than cached. */
const MAX_CACHED_QUERY_LENGTH = 64 * 1024;
/** What an AST costs per token: a 2,000-token document is ~570 KB of heap (measured). */
const AST_BYTES_PER_TOKEN = 290;
/**
 * The cache holds at most this many bytes of documents, each counted as its AST (by tokens) plus
 * its query text (the key: 2 bytes per UTF-16 unit), whatever distinct queries clients send (and
 * whatever `maxDocumentTokens` allows).
 */
const MAX_CACHED_BYTES = 70 * 2 ** 20;

export interface DocumentCache {
  /** The query's document; throws a GraphQLError (a syntax error, or `DOCUMENT_TOO_LARGE`). */
  parse(query: string): DocumentNode;
  /** The specified rules' errors for `document` against `schema`. */
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
}

/** A cache for up to `size` distinct queries. */
export function createDocumentCache(limits: DocumentLimits, size = 1000): DocumentCache {
  const documents = new Map<string, { document: DocumentNode; bytes: number }>();
  let cachedBytes = 0;
  const validations = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();

  return {
    parse(query) {
      const cached = query.length <= MAX_CACHED_QUERY_LENGTH ? documents.get(query) : undefined;
      if (cached) {
        documents.delete(query); // refresh its LRU position
        documents.set(query, cached);
        return cached.document;
      }
      const document = parseWithin(query, limits); // an error throws and is not cached
      const tokens = (document as { tokenCount?: number }).tokenCount ?? limits.maxDocumentTokens;
      const bytes = tokens * AST_BYTES_PER_TOKEN + query.length * 2;
      if (query.length <= MAX_CACHED_QUERY_LENGTH && bytes <= MAX_CACHED_BYTES) {
        documents.set(query, { document, bytes });
        cachedBytes += bytes;
        for (const [oldest, entry] of documents) {
          if (documents.size <= size && cachedBytes <= MAX_CACHED_BYTES) break;
          documents.delete(oldest);
          cachedBytes -= entry.bytes;
        }
      }
      return document;
    },

    validate(schema, document) {
      let bySchema = validations.get(schema);
      if (!bySchema) validations.set(schema, (bySchema = new WeakMap()));
      let errors = bySchema.get(document);
      if (!errors) bySchema.set(document, (errors = validate(schema, document)));
      return errors;
    },
  };
}

/** graphql-js's parse, refusing a document over `limits` with `DOCUMENT_TOO_LARGE`. */
function parseWithin(query: string, limits: DocumentLimits): DocumentNode {
  // A string's length in UTF-16 code units never exceeds its UTF-8 bytes: the cheap test first.
  if (query.length > limits.maxDocumentBytes || Buffer.byteLength(query, 'utf8') > limits.maxDocumentBytes) {
    throw documentTooLarge(`the document is larger than ${limits.maxDocumentBytes} bytes (maxDocumentBytes)`, 'maxDocumentBytes', limits.maxDocumentBytes);
  }
  try {
    return parse(query, { maxLexicalTokens: limits.maxDocumentTokens });
  } catch (e) {
    // graphql-js reports the token limit as a syntax error at the token past it; tell it apart
    // by counting the tokens up to where the error is (at most maxDocumentTokens + 1), not by its
    // wording: a syntax error the parser met earlier stays a syntax error.
    const at = e instanceof GraphQLError ? e.positions?.[0] : undefined;
    if (at !== undefined && tokensUpTo(query, at, limits.maxDocumentTokens) > limits.maxDocumentTokens) {
      throw documentTooLarge(`the document has more than ${limits.maxDocumentTokens} lexical tokens (maxDocumentTokens)`, 'maxDocumentTokens', limits.maxDocumentTokens);
    }
    throw e;
  }
}

/** The tokens of `query` that start at or before `position` (counting stops past `max`). */
function tokensUpTo(query: string, position: number, max: number): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF && token.start <= position && count <= max; token = lexer.advance()) count++;
  } catch {
    // a lexical error before the limit: the parse error stands
  }
  return count;
}

/** The refusal: `extensions: { code: 'DOCUMENT_TOO_LARGE', option, limit }`. */
function documentTooLarge(message: string, option: keyof DocumentLimits, limit: number): GraphQLError {
  return new GraphQLError(`${message}; send a smaller query`, { extensions: { code: 'DOCUMENT_TOO_LARGE', option, limit } });
}
