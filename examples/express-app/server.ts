/**
 * An Express app whose GraphQL API the fixture extensions extend.
 *
 *   npm start                      # builds the fixtures into examples/extensions, serves on :4000
 *   PORT=8080 EXTENSIONS_DIR=... DATA_DIR=... npm start
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { consoleLogger, forgeExtensions } from '../../lib/index.js';
import { baseSchema, extensionSettings, paths, port } from '../base-schema.js';

const forge = forgeExtensions(paths.extensions, {
  schema: baseSchema,
  dataDir: paths.data,
  context: (req) => ({ user: req.headers['x-user'] ?? 'anonymous' }),
  extensions: extensionSettings,
  logger: consoleLogger('info'),
});

const app = express();
app.use('/graphql', forge);
app.get('/', (_req, res) => res.redirect('/graphql'));

const server = app.listen(port, async () => {
  await forge.host.ready();
  for (const s of forge.host.status()) console.log(`  ${s.name.padEnd(12)} ${s.state}${s.error ? `: ${s.error}` : ''}`);
  const { port: listening } = server.address() as AddressInfo;
  // GraphiQL is off by default under NODE_ENV=production (a browser gets a page saying so).
  const graphiql = process.env['NODE_ENV'] !== 'production' ? ' and GraphiQL' : ' (GraphiQL off: NODE_ENV=production)';
  console.log(`GraphQL API${graphiql}: http://localhost:${listening}/graphql`);
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
