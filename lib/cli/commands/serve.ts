/** `forge-ext serve <dir>`: a standalone GraphQL server on a directory of extensions. */
import { createServer } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { forgeExtensions } from '../../http/express.js';
import { consoleLogger } from '../../runtime/logger.js';
import { CliError, type Command } from '../cli.js';

export const serve: Command = {
  usage: 'serve <dir> [--port <n>] [--data <dir>] [--no-watch] [--isolation <mode>]',
  summary: 'serve a directory of extensions with GraphiQL and hot reload',
  help: `Serves a GraphQL API made of the extensions in <dir> (no base schema) at
http://localhost:<port>/graphql, with GraphiQL for browsers. Rebuilding an extension into
<dir> reloads it. Stop with Ctrl-C.

Options:
  --port <n>      port to listen on (default: 4000; 0 picks a free one)
  --data <dir>    where the extensions' databases live (default: ./data)
  --no-watch      do not reload on file changes
  --isolation <mode>  process (default, as a host runs extensions), worker or inline

There is no application here: no base schema, and every extension's request context is {}
(a host grants context keys with extensions.<name>.context).`,
  options: { port: { type: 'string', short: 'p' }, data: { type: 'string' }, 'no-watch': { type: 'boolean' }, isolation: { type: 'string' } },
  positionals: [1, 1],
  async run([dir], options) {
    if (!existsSync(dir!)) throw new CliError(`the directory ${dir} does not exist`, 2);
    if (!statSync(dir!).isDirectory()) throw new CliError(`${dir} is not a directory (serve takes the directory the .wasm files are in)`, 2);
    const port = Number(options['port'] ?? 4000);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, not ${options['port']}`, 2);
    const isolation = (options['isolation'] as string | undefined) ?? 'process';
    if (isolation !== 'process' && isolation !== 'worker' && isolation !== 'inline') throw new CliError(`--isolation must be process, worker or inline, not ${isolation}`, 2);
    const forge = forgeExtensions(dir!, {
      dataDir: (options['data'] as string | undefined) ?? './data',
      watch: !options['no-watch'],
      isolation,
      logger: consoleLogger('info'),
      graphiql: true,
    });
    const server = createServer((req, res) => {
      const path = req.url ?? '/';
      // The GraphiQL page declares an inline icon; a browser that asks anyway gets "no content".
      if (path === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      if (path !== '/graphql' && !path.startsWith('/graphql/') && !path.startsWith('/graphql?')) {
        res.writeHead(path === '/' ? 302 : 404, path === '/' ? { location: '/graphql' } : {}).end();
        return;
      }
      req.url = path.slice('/graphql'.length) || '/';
      forge(Object.assign(req, { baseUrl: '/graphql' }), res, (err?: unknown) => {
        res.writeHead(err ? 500 : 404).end();
      });
    });
    // Listen before loading: a port in use is told at once, as a one-line error.
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, resolve));
    } catch (e) {
      await forge.host.close();
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(code === 'EADDRINUSE' ? `port ${port} is in use; choose another with --port` : `cannot listen on port ${port}: ${code ?? (e as Error).message}`);
    }
    await forge.host.ready();
    const actual = (server.address() as { port: number }).port;
    for (const s of forge.host.status()) process.stdout.write(`  ${s.name.padEnd(16)} ${s.state}${s.error ? `: ${s.error}` : ''}\n`);
    process.stdout.write(`GraphQL API and GraphiQL: http://localhost:${actual}/graphql\n`);
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    server.closeAllConnections();
    await forge.host.close();
    return 0;
  },
};
