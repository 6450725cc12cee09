/**
 * The application the SQL resolver attack tests serve: users whose objects carry a property
 * their GraphQL type does not declare, and a real `probe` component beside them.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import request from 'supertest';
import { forgeExtensions, type ForgeOptions } from '../lib/index.js';
import type { Extension } from '../lib/runtime/extension.js';
import { silentLogger } from '../lib/runtime/logger.js';
import type { Isolation } from '../lib/runtime/wire.js';
import { extensionsDir, TEST_CACHE_DIR, tempDir } from './helpers.js';

/** Users with a property the application's GraphQL type does not declare (a session token). */
const users = Array.from({ length: 4 }, (_, i) => ({ id: String(i + 1), name: `user ${i + 1}`, secret: `token-${i + 1}` }));
export const usersSchema = (): GraphQLSchema =>
  makeExecutableSchema({
    typeDefs: 'type User { id: ID! name: String! } type Query { users: [User!]! user(id: ID!): User }',
    resolvers: { Query: { users: () => users, user: (_: unknown, { id }: { id: string }) => users.find((u) => u.id === id) ?? null } },
  });

const MIGRATION = `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author_id INTEGER);
  INSERT INTO notes (text, author_id) SELECT 'a', 1 WHERE NOT EXISTS (SELECT 1 FROM notes);`;

export interface Served {
  app: express.Express;
  probe: () => Extension;
  state: () => { state: string; error?: string | undefined };
  close: () => Promise<void>;
}

export interface GqlBody {
  data?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string } }>;
}

/** Serves the `probe` fixture (`config` over the notes migration) beside the users schema; `close` removes its files. */
export async function serve(config: Record<string, unknown>, options: Partial<ForgeOptions> & { isolation?: Isolation } = {}): Promise<Served> {
  const ext = extensionsDir({ 'probe.wasm': 'probe' });
  const data = tempDir();
  const forge = forgeExtensions(ext.dir, {
    schema: usersSchema(),
    dataDir: data.dir,
    cacheDir: TEST_CACHE_DIR,
    logger: silentLogger,
    watch: false,
    isolation: 'inline',
    extensions: { probe: { config: { migrate: MIGRATION, ...config } } },
    ...options,
  });
  const app = express();
  app.use('/graphql', forge);
  await forge.host.ready();
  return {
    app,
    probe: () => forge.host.extension('probe')!,
    state: () => forge.host.status().find((s) => s.name === 'probe')!,
    close: async () => {
      await forge.host.close();
      ext.cleanup();
      data.cleanup();
    },
  };
}

/** POSTs `query` to the app's `/graphql` (expecting HTTP 200) and returns the body. */
export async function gql(app: express.Express, query: string): Promise<GqlBody> {
  const res = await request(app).post('/graphql').send({ query }).expect(200);
  return res.body as GqlBody;
}
