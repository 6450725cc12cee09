/**
 * Real Express and Koa apps around the middleware, for the HTTP tests: the examples' base
 * schema, real extensions in a temporary directory, a temporary data directory.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { forgeExtensions, type ForgeOptions } from '../lib/index.js';
import { forgeExtensions as forgeExtensionsKoa } from '../lib/http/koa.js';
import type { ExtensionHost } from '../lib/host/host.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { baseSchema } from '../examples/base-schema.js';
import { TEST_CACHE_DIR } from './helpers.js';

export type Framework = 'express' | 'koa';
export const FRAMEWORKS: Framework[] = ['express', 'koa'];

export interface TestApp {
  /** A request listener for supertest. */
  handler: RequestListener;
  host: ExtensionHost;
  /** Starts listening on a free port; resolves the base URL of the endpoint. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Options every test app gets unless overridden. */
export function defaultOptions(dataDir: string): ForgeOptions {
  return {
    schema: baseSchema,
    dataDir,
    cacheDir: TEST_CACHE_DIR,
    logger: silentLogger,
    watch: false,
    context: (req) => ({ user: String(req.headers['x-user'] ?? 'anonymous') }),
    extensions: { issues: { config: { repositories: true } }, probe: { context: ['user'] } },
  };
}

/** An app of `framework` serving `dir` at `/graphql`. */
export function createApp(framework: Framework, dir: string, options: ForgeOptions): TestApp {
  let host: ExtensionHost;
  let handler: RequestListener;
  if (framework === 'express') {
    const forge = forgeExtensions(dir, options);
    const app = express();
    app.use('/graphql', forge);
    host = forge.host;
    handler = app as unknown as RequestListener;
  } else {
    const { context, ...rest } = options;
    const forge = forgeExtensionsKoa(dir, {
      ...rest,
      ...(context ? { context: (ctx) => context(ctx.req as never) } : {}),
      path: '/graphql',
    });
    const app = new Koa();
    app.use(forge);
    host = forge.host;
    handler = app.callback() as unknown as RequestListener;
  }
  let server: Server | undefined;
  return {
    handler,
    host,
    listen: () =>
      new Promise((resolve) => {
        server = createServer(handler).listen(0, '127.0.0.1', () => {
          resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/graphql`);
        });
      }),
    close: async () => {
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
      await host.close();
    },
  };
}
