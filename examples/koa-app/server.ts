/**
 * The same app on Koa.
 *
 *   npm run start:koa
 */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { consoleLogger } from '../../lib/index.js';
import { forgeExtensions } from '../../lib/http/koa.js';
import { baseSchema, extensionSettings, paths, port } from '../base-schema.js';

const forge = forgeExtensions(paths.extensions, {
  path: '/graphql',
  schema: baseSchema,
  dataDir: paths.data,
  context: (ctx) => ({ user: ctx.headers['x-user'] ?? 'anonymous' }),
  extensions: extensionSettings,
  logger: consoleLogger('info'),
});

const app = new Koa();
app.use(forge);

const server = app.listen(port, async () => {
  await forge.host.ready();
  for (const s of forge.host.status()) console.log(`  ${s.name.padEnd(12)} ${s.state}${s.error ? `: ${s.error}` : ''}`);
  const { port: listening } = server.address() as AddressInfo;
  // GraphiQL is off by default under NODE_ENV=production (a browser gets a page saying so).
  const graphiql = process.env['NODE_ENV'] !== 'production' ? ' and GraphiQL' : ' (GraphiQL off: NODE_ENV=production)';
  console.log(`GraphQL API (Koa)${graphiql}: http://localhost:${listening}/graphql`);
});

// Stop accepting connections and let the requests in progress finish (each extension call ends
// by its deadline), then close the extensions: their processes and databases (host.close()
// resolves within 5 s whatever they are doing). Nothing else keeps the process alive, so it
// exits with code 0. Clients that hold connections open are cut after 5 s.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: shutting down`);
    server.close(() => void forge.host.close());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5000).unref();
  });
}
