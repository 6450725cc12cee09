/**
 * The Express middleware: `app.use('/graphql', forgeExtensions('./extensions', options))`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExtensionHost } from '../host/host.js';
import type { HostOptions } from '../host/options.js';
import { createEndpoint, type HttpOptions } from './handler.js';
import { writeAnswer } from './write.js';

/** An Express request, as far as the middleware needs it (works with plain `node:http` too). */
export type ExpressRequest = IncomingMessage & { baseUrl?: string; body?: unknown };

/** Options of the Express middleware: the host's and the HTTP layer's. */
export type ForgeOptions = HostOptions & HttpOptions<ExpressRequest>;

/** The middleware, with its host attached. */
export interface ForgeMiddleware {
  (req: ExpressRequest, res: ServerResponse, next: (err?: unknown) => void): void;
  /** The extension host: `ready()`, `status()`, `schema()`, `close()`, events. */
  host: ExtensionHost;
}

/**
 * Serves a GraphQL API made of the application's `schema` and the extensions in `dir`.
 *
 * ```ts
 * const forge = forgeExtensions('./extensions', { schema, context: (req) => ({ userId: req.user?.id }) });
 * app.use('/graphql', forge);
 * await forge.host.ready();
 * ```
 */
export function forgeExtensions(dir: string, options: ForgeOptions = {}): ForgeMiddleware {
  const { host, handle } = createEndpoint(dir, options);

  const middleware = ((req, res, next) => {
    handle({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      endpoint: req.baseUrl || '/',
      headers: req.headers,
      parsedBody: () => req.body as Record<string, unknown> | undefined,
      stream: req,
      raw: req,
    }).then((answer) => (answer ? writeAnswer(res, answer) : next()), next);
  }) as ForgeMiddleware;
  middleware.host = host;
  return middleware;
}
