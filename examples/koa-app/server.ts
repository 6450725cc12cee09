/**
 * The same app on Koa.
 *
 *   npm run start:koa
 */
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
  console.log(`GraphQL API and GraphiQL (Koa): http://localhost:${port}/graphql`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void forge.host.close()));
}
