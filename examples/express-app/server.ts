/**
 * An Express app whose GraphQL API the fixture extensions extend.
 *
 *   npm start                      # builds the fixtures into examples/extensions, serves on :4000
 *   PORT=8080 EXTENSIONS_DIR=... DATA_DIR=... npm start
 */
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
  console.log(`GraphQL API and GraphiQL: http://localhost:${port}/graphql`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void forge.host.close()));
}
