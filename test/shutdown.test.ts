/**
 * The example apps shut down cleanly on SIGTERM (issue 10): even with a runaway extension call
 * in flight, the process exits with code 0 and leaves no extension process behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { appFixture } from './apps.js';
import { extensionProcesses, running, waitFor } from './procfs.js';

describe('example apps: SIGTERM', function () {
  // Directories only: each test's app is a child process started from them.
  const fixture = appFixture({ 'counter.wasm': 'counter', 'loop.wasm': 'loop' });

  for (const app of ['express-app', 'koa-app']) {
    it(`${app} exits with code 0 on SIGTERM during a runaway call, leaving no extension process`, async () => {
      const server = spawn(process.execPath, [join('dist', 'examples', app, 'server.js')], {
        env: { ...process.env, PORT: '0', EXTENSIONS_DIR: fixture.extensionsDir, DATA_DIR: fixture.dataDir, NODE_ENV: 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      server.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      server.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
      const exited = new Promise<[number | null, string | null]>((resolve) => server.once('exit', (c, s) => resolve([c, s])));
      try {
        await waitFor(() => /http:\/\/localhost:\d+\/graphql/.test(out), 60_000, `${app} listening (${out}${err})`);
        const url = out.match(/http:\/\/localhost:\d+\/graphql/)![0];
        const post = (query: string) =>
          fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then(
            (r) => r.json() as Promise<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }>,
          );
        assert.deepEqual((await post('{ hello }')).data, { hello: 'world' });
        const pids = [...extensionProcesses('counter', server.pid), ...extensionProcesses('loop', server.pid)];
        assert.equal(pids.length, 2, 'one process per extension');
        const spinning = post('{ spin }');
        await new Promise((resolve) => setTimeout(resolve, 200));
        server.kill('SIGTERM');
        const [code, signal] = await exited;
        assert.equal(signal, null);
        assert.equal(code, 0, `exit code ${code}: ${err}`);
        assert.match(out, /SIGTERM: shutting down/);
        // The request in flight was answered before the server closed (its deadline ran out).
        assert.equal((await spinning).errors?.[0]?.extensions?.code, 'EXTENSION_TIMEOUT');
        for (const pid of pids) assert.equal(running(pid), false, `extension process ${pid} is gone`);
      } finally {
        server.kill('SIGKILL');
      }
    });
  }
});
