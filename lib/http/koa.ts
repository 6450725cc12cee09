/**
 * The Koa middleware: `app.use(forgeExtensions('./extensions', { path: '/graphql', ...options }))`.
 *
 * Koa has no mount points, so the middleware serves `options.path` (and GraphiQL's assets
 * below it) and passes every other request on.
 */
import type { IncomingMessage } from 'node:http';
import type { ExtensionHost } from '../host/host.js';
import type { HostOptions } from '../host/options.js';
import { createEndpoint, type HttpOptions } from './handler.js';

/** The part of Koa's context the middleware uses. */
export interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  headers: IncomingMessage['headers'];
  req: IncomingMessage;
  request: { body?: unknown };
  status: number;
  message: string;
  body: unknown;
  set(field: string, value: string): void;
}

/** Options of the Koa middleware. */
export type ForgeKoaOptions = HostOptions &
  HttpOptions<KoaContext> & {
    /** The endpoint's path. @default '/graphql' */
    path?: string;
  };

/** The middleware, with its host attached. */
export interface ForgeKoaMiddleware {
  (ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown>;
  host: ExtensionHost;
}

/** Serves the GraphQL API at `options.path` of a Koa app. See the Express `forgeExtensions`. */
export function forgeExtensions(dir: string, options: ForgeKoaOptions = {}): ForgeKoaMiddleware {
  const { path = '/graphql', ...rest } = options;
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError('forge-extensions: options.path must be an absolute path like "/graphql"');
  const { host, handle } = createEndpoint(dir, rest);
  const endpoint = path.replace(/\/$/, '') || '/';

  const middleware = (async (ctx, next) => {
    const rest = ctx.path === endpoint ? '/' : ctx.path.startsWith(endpoint + '/') ? ctx.path.slice(endpoint.length) : undefined;
    if (rest === undefined) return next();
    const answer = await handle({
      method: ctx.method,
      url: rest + (ctx.querystring ? `?${ctx.querystring}` : ''),
      endpoint,
      headers: ctx.headers,
      parsedBody: () => ctx.request.body as Record<string, unknown> | undefined,
      stream: ctx.req,
      raw: ctx,
    });
    if (!answer) return next();
    ctx.status = answer.status;
    if (answer.statusText) ctx.message = answer.statusText;
    for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
    ctx.body = answer.body ?? '';
  }) as ForgeKoaMiddleware;
  middleware.host = host;
  return middleware;
}
