/**
 * The application the SQL resolver tests serve: users whose objects carry a property their
 * GraphQL type does not declare, and real `probe` components beside them (each serving the SDL
 * and migration its config gives).
 */
import type { RequestListener } from 'node:http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import request from 'supertest';
import type { ForgeOptions } from '../lib/index.js';
import type { ExtensionHost } from '../lib/host/host.js';
import type { Extension } from '../lib/runtime/extension.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { createApp } from './apps.js';
import { extensionsDir, TEST_CACHE_DIR, tempDir } from './helpers.js';

/** `count` users, each with a property the application's GraphQL type does not declare (a session token). */
export const usersSchema = (count = 4): GraphQLSchema => {
  const users = Array.from({ length: count }, (_, i) => ({ id: String(i + 1), name: `user ${i + 1}`, secret: `token-${i + 1}` }));
  return makeExecutableSchema({
    typeDefs: 'type User { id: ID! name: String! } type Query { users: [User!]! user(id: ID!): User }',
    resolvers: { Query: { users: () => users, user: (_: unknown, { id }: { id: string }) => users.find((u) => u.id === id) ?? null } },
  });
};

const MIGRATION = `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author_id INTEGER);
  INSERT INTO notes (text, author_id) SELECT 'a', 1 WHERE NOT EXISTS (SELECT 1 FROM notes);`;

export interface Served {
  /** The Express app, `/graphql` mounted (a request listener for supertest). */
  app: RequestListener;
  host: ExtensionHost;
  /** The serving extension `name` (default `probe`). */
  probe: (name?: string) => Extension;
  /** The host's status of extension `name` (default `probe`). */
  state: (name?: string) => { state: string; error?: string | undefined };
  /** Closes the host and removes its directories. */
  close: () => Promise<void>;
}

export interface GqlBody {
  data?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string } }>;
}

/** What {@link serveProbes} takes besides the host's options. */
export type ServeOptions = Partial<ForgeOptions> & {
  /** Other fixtures served beside the probes: `{ 'counter.wasm': 'counter' }`. */
  beside?: Record<string, string>;
};

/**
 * Serves one copy of the `probe` fixture per entry of `configs` (`{ alpha: config }` serves
 * `alpha.wasm`), each with its config over a notes migration (a `migrate` it gives replaces
 * it), beside the users schema: inline isolation, no watching, a fresh data directory;
 * `options` override these. Resolves once the host is ready; `close` removes its files.
 */
export async function serveProbes(configs: Record<string, Record<string, unknown>>, options: ServeOptions = {}): Promise<Served> {
  const { beside = {}, ...forgeOptions } = options;
  const ext = extensionsDir({ ...Object.fromEntries(Object.keys(configs).map((name) => [`${name}.wasm`, 'probe'])), ...beside });
  const data = tempDir();
  const served = createApp('express', ext.dir, {
    schema: usersSchema(),
    dataDir: data.dir,
    cacheDir: TEST_CACHE_DIR,
    logger: silentLogger,
    watch: false,
    isolation: 'inline',
    extensions: Object.fromEntries(Object.entries(configs).map(([name, config]) => [name, { config: { migrate: MIGRATION, ...config } }])),
    ...forgeOptions,
  });
  await served.host.ready();
  return {
    app: served.handler,
    host: served.host,
    probe: (name = 'probe') => served.host.extension(name)!,
    state: (name = 'probe') => served.host.status().find((s) => s.name === name)!,
    close: async () => {
      await served.close();
      ext.cleanup();
      data.cleanup();
    },
  };
}

/** Serves the `probe` fixture alone with `config`: {@link serveProbes} for one. */
export const serve = (config: Record<string, unknown>, options: ServeOptions = {}): Promise<Served> => serveProbes({ probe: config }, options);

/** POSTs `query` to the app's `/graphql` (expecting HTTP 200) and returns the body. */
export async function gql(app: RequestListener, query: string): Promise<GqlBody> {
  const res = await request(app).post('/graphql').send({ query }).expect(200);
  return res.body as GqlBody;
}
