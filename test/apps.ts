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
import { extensionsDir, TEST_CACHE_DIR, tempDir } from './helpers.js';

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

/** What {@link appFixture} gives a `describe` block's tests. */
export interface AppFixture {
  /** The extensions directory the current test's app serves (its own one, else the block's). */
  readonly extensionsDir: string;
  /** The current test's data directory (a fresh one for each test). */
  readonly dataDir: string;
  /** The app the current test started last; throws when it started none. */
  readonly app: TestApp;
  /**
   * Starts an app on the block's extensions directory with {@link defaultOptions} overridden
   * key by key by `options` (an `extensions` given replaces the default one, it is not merged)
   * and resolves once the host is ready. The app is closed after the test; one the test closes
   * itself may be followed by another `start` (the same data directory: a restart).
   */
  start(options?: Partial<ForgeOptions>): Promise<TestApp>;
  /** Starts as {@link AppFixture.start} does, on an extensions directory of this test's own holding copies of `files`. */
  startWith(files: Record<string, string>, options?: Partial<ForgeOptions>): Promise<TestApp>;
}

/**
 * The mocha hooks of a block whose tests serve fixture extensions: an extensions directory
 * holding copies of `files` (`{ 'issues.wasm': 'issues' }`) for the whole block (none without
 * `files`: each test then brings its own with `startWith`), a fresh data directory for each
 * test, and after each test its app closed and its directories removed. Call it inside
 * `describe`; an `afterEach` that needs the app must be declared before the call (mocha runs a
 * block's `afterEach` hooks in the order they are declared).
 */
export function appFixture(files?: Record<string, string>, framework: Framework = 'express'): AppFixture {
  let ext: { dir: string; cleanup: () => void } | undefined;
  const own: Array<{ dir: string; cleanup: () => void }> = [];
  let data: { dir: string; cleanup: () => void } | undefined;
  let app: TestApp | undefined;
  if (files) before(() => (ext = extensionsDir(files)));
  // A `before` hook that skips the block leaves no directory to remove.
  after(() => ext?.cleanup());
  beforeEach(() => (data = tempDir()));
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const made of own.splice(0)) made.cleanup();
    data?.cleanup();
  });
  const open = async (dir: string, options: Partial<ForgeOptions>) => {
    app = createApp(framework, dir, { ...defaultOptions(data!.dir), ...options });
    await app.host.ready();
    return app;
  };
  return {
    get extensionsDir() {
      const dir = own.at(-1)?.dir ?? ext?.dir;
      if (!dir) throw new Error('appFixture: no extensions directory (give files to appFixture or startWith)');
      return dir;
    },
    get dataDir() {
      return data!.dir;
    },
    get app() {
      if (!app) throw new Error('appFixture: this test started no app (call start first)');
      return app;
    },
    start(options = {}) {
      if (!ext) throw new Error('appFixture: the block has no extensions directory (give files to appFixture, or use startWith)');
      return open(ext.dir, options);
    },
    startWith(testFiles, options = {}) {
      own.push(extensionsDir(testFiles));
      return open(own.at(-1)!.dir, options);
    },
  };
}
