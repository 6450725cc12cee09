/**
 * The HTTP front door, independent of the framework: one GraphQL-over-HTTP handler
 * (graphql-http, spec-compliant) per host, reading the host's current schema snapshot for each
 * request, plus GraphiQL. The Express and Koa adapters only translate requests and responses.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createHandler, type Request as GraphqlHttpRequest } from 'graphql-http';
import { ExtensionHost } from '../host/host.js';
import { assertKnownKeys, HOST_KEYS, resolveHostOptions, type HostOptions } from '../host/options.js';
import type { Snapshot } from '../host/snapshots.js';
import type { Logger } from '../runtime/logger.js';
import { createDocumentCache, DEFAULT_DOCUMENT_LIMITS } from './document-cache.js';
import { admitOperation, serializeResult } from './execute.js';
import { ASSET_PREFIX, graphiqlAsset, graphiqlOffPage, graphiqlPage } from './graphiql.js';

/** Options of the HTTP layer (besides the host's). */
export interface HttpOptions<Raw = unknown> {
  /**
   * Builds the request context: the GraphQL context of the base schema's resolvers. Each
   * extension receives only the part `extensions.<name>.context` grants it (default: nothing),
   * as JSON: keep the granted keys plain, JSON-serialisable data. Express passes the request,
   * Koa the `ctx`. @default () => ({})
   */
  context?: (raw: Raw) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Serve GraphiQL to browsers (`GET` with `Accept: text/html`). @default true unless NODE_ENV=production */
  graphiql?: boolean;
  /** Largest request body accepted, in bytes (larger: `413`). @default 1048576 */
  maxBodyBytes?: number;
  /**
   * Longest GraphQL document (the request's `query`) accepted, in UTF-8 bytes. Refused before
   * it is parsed. @default 65536
   */
  maxDocumentBytes?: number;
  /**
   * Most lexical tokens (GraphQL spec 2.1.6: names, punctuators, values; not comments, commas or
   * whitespace) in a document; graphql-js stops parsing at the next one (its
   * `maxLexicalTokens`). Parsing and validation run on the event loop before any budget
   * applies, and cost about linearly in tokens, except graphql-js's overlapping-fields rule,
   * quadratic up to a fixed cap: this bounds them. The GraphiQL introspection query has ~190
   * tokens; 100 aliases of `issues(first: 500) { id title body }` have 1,302.
   *
   * Over either limit, the answer is one GraphQL error, `extensions: { code:
   * 'DOCUMENT_TOO_LARGE', option, limit }`, without `data`, as graphql-http answers a syntax
   * error (HTTP 400 for `application/graphql-response+json`, 200 for `application/json`); nothing
   * else runs for the request (no `context`, no extension).
   * @default 1000
   */
  maxDocumentTokens?: number;
}


/** A request as the adapters hand it over. */
export interface HttpExchange<Raw> {
  method: string;
  /** The path and query relative to the endpoint (`/`, `/?query=...`, `/__graphiql/react.js`). */
  url: string;
  /** The endpoint's absolute path (`/graphql`), for GraphiQL's links. */
  endpoint: string;
  headers: IncomingHttpHeaders;
  /** The body if a body parser (express.json(), koa-bodyparser) already read it. */
  parsedBody?: () => Record<string, unknown> | string | undefined;
  /** The request stream, read (up to `maxBodyBytes`) when no parser did. */
  stream: NodeJS.ReadableStream;
  raw: Raw;
}

/** A response for the adapter to write. */
export interface HttpAnswer {
  status: number;
  statusText?: string;
  headers: Record<string, string>;
  body: string | Buffer | null;
}

/** The body exceeded `maxBodyBytes`. */
export class BodyTooLarge extends Error {}

/** Resolves the request's answer, or `undefined` when the path is not the endpoint's (call `next`). */
export type ForgeHandler<Raw> = (exchange: HttpExchange<Raw>) => Promise<HttpAnswer | undefined>;

/**
 * What both adapters build from the user's options: the host and the framework-neutral handler.
 * Validates every option (a wrong one throws a TypeError naming it).
 */
export function createEndpoint<Raw>(dir: string, options: HostOptions & HttpOptions<Raw>): { host: ExtensionHost; handle: ForgeHandler<Raw> } {
  if (options === null || typeof options !== 'object') throw new TypeError('forge-extensions: options must be an object');
  assertKnownKeys(options, [...HOST_KEYS, ...HTTP_KEYS], 'forge-extensions');
  const { context, graphiql, maxBodyBytes, maxDocumentBytes, maxDocumentTokens, ...hostOptions } = options;
  const httpOptions: HttpOptions<Raw> = { context, graphiql, maxBodyBytes, maxDocumentBytes, maxDocumentTokens };
  checkHttpOptions(httpOptions);
  const resolved = resolveHostOptions(hostOptions);
  const host = new ExtensionHost(dir, resolved);
  return { host, handle: createForgeHandler(host, httpOptions, resolved.logger) };
}

function createForgeHandler<Raw>(host: ExtensionHost, options: HttpOptions<Raw>, logger: Logger): ForgeHandler<Raw> {
  const graphiql = options.graphiql ?? process.env['NODE_ENV'] !== 'production';
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const cache = createDocumentCache({
    maxDocumentBytes: options.maxDocumentBytes ?? DEFAULT_DOCUMENT_LIMITS.maxDocumentBytes,
    maxDocumentTokens: options.maxDocumentTokens ?? DEFAULT_DOCUMENT_LIMITS.maxDocumentTokens,
  });
  const handle = createHandler<Raw, { snapshot: Snapshot }, Record<string, unknown>>({
    onSubscribe: (req, params) => admitOperation(cache, req.context.snapshot.schema, params),
    context: async (req) => {
      const value = options.context ? await options.context(req.raw) : {};
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new TypeError('forge-extensions: options.context must return an object');
      }
      return value;
    },
    onOperation: (req, _args, result) => serializeResult(req.headers, result),
  });

  return async (exchange): Promise<HttpAnswer | undefined> => {
    const [path, query = ''] = splitUrl(exchange.url);
    if (path.startsWith(ASSET_PREFIX)) {
      if (!graphiql || (exchange.method !== 'GET' && exchange.method !== 'HEAD')) return undefined;
      const asset = await graphiqlAsset(path.slice(ASSET_PREFIX.length));
      if (!asset) return undefined;
      return { status: 200, headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=86400' }, body: asset.body };
    }
    if (path !== '/' && path !== '') return undefined;
    if (exchange.method === 'GET' && wantsHtml(exchange.headers) && !/(^|&)query=/.test(query)) {
      const headers = { 'content-type': 'text/html; charset=utf-8' };
      if (graphiql) return { status: 200, headers, body: await graphiqlPage(exchange.endpoint) };
      return { status: 406, statusText: 'Not Acceptable', headers, body: graphiqlOffPage(exchange.endpoint) };
    }
    if (host.closed) return { status: 503, statusText: 'Service Unavailable', headers: {}, body: 'the GraphQL endpoint is shut down' };

    let body: Record<string, unknown> | string | null;
    try {
      body = exchange.method === 'POST' ? ((await exchange.parsedBody?.()) ?? (await readBody(exchange.stream, limit))) : null;
    } catch (e) {
      if (e instanceof BodyTooLarge) return { status: 413, statusText: 'Payload Too Large', headers: {}, body: e.message };
      throw e;
    }
    await host.ready().catch(() => {});
    const snapshot = host.acquire();
    try {
      const request: GraphqlHttpRequest<Raw, { snapshot: Snapshot }> = {
        method: exchange.method,
        url: exchange.url,
        headers: exchange.headers as GraphqlHttpRequest<Raw, unknown>['headers'],
        body,
        raw: exchange.raw,
        context: { snapshot },
      };
      const [responseBody, init] = await handle(request);
      return { status: init.status, statusText: init.statusText, headers: { ...init.headers }, body: responseBody };
    } catch (e) {
      // graphql-http only rejects for internal errors (an option callback threw): log, answer 500.
      logger.error({ err: e }, `forge-extensions: internal error while handling a request: ${(e as Error)?.message ?? e}`);
      return { status: 500, statusText: 'Internal Server Error', headers: {}, body: 'Internal Server Error' };
    } finally {
      snapshot.release();
    }
  };
}

/** Reads a Node request body as text, refusing more than `limit` bytes. */
function readBody(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.removeAllListeners('data');
        stream.resume();
        reject(new BodyTooLarge(`the request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** Validates the HTTP options (the host validates its own). */
function checkHttpOptions<Raw>(options: HttpOptions<Raw>): void {
  if (options.context !== undefined && typeof options.context !== 'function') throw new TypeError('forge-extensions: options.context must be a function (req) => object');
  if (options.graphiql !== undefined && typeof options.graphiql !== 'boolean') throw new TypeError('forge-extensions: options.graphiql must be a boolean');
  for (const key of ['maxBodyBytes', 'maxDocumentBytes', 'maxDocumentTokens'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new TypeError(`forge-extensions: options.${key} must be a positive integer`);
  }
}

const HTTP_KEYS = ['context', 'graphiql', 'maxBodyBytes', 'maxDocumentBytes', 'maxDocumentTokens'] as const;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function splitUrl(url: string): [string, string?] {
  const q = url.indexOf('?');
  return q === -1 ? [url] : [url.slice(0, q), url.slice(q + 1)];
}

function wantsHtml(headers: IncomingHttpHeaders): boolean {
  return (headers.accept ?? '').includes('text/html');
}
