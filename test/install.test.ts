/**
 * The documented path of an extension author, exactly as README.md "Write an extension" gives
 * it, from a checkout: `npm pack` -> `npm install <tarball>` in a fresh directory -> `npx
 * forge-ext new notes --sdk <tarball>` -> in the scaffold `npm install` and its own `npm test`
 * -> `npx forge-ext serve .` -> a query. Both installs must print no ERESOLVE and no
 * EBADENGINE, leave a tree `npm ls` accepts, and `forge-ext types` must work from the
 * installed package (issue 13, items 1, 2 and 4).
 *
 * Slow (two real installs and a build: minutes), so it runs once, on whatever Node runs the suite.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../fixtures/build.js';
import { tempDir } from './helpers.js';

const exec = promisify(execFile);

/** The Node running the suite comes first on PATH, so npm, npx and the scripts use it too. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH']}`, NODE_ENV: 'test', npm_config_prefer_offline: 'true', npm_config_fund: 'false', npm_config_audit: 'false' };

/** Runs a command; resolves its output, rejects with all of it when it exits non-zero. */
async function run(command: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(command, args, { cwd, env, maxBuffer: 64 * 2 ** 20 });
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${err.code}:\n${err.stdout}\n${err.stderr}`);
  }
}

/** The npm output an install must not print (peer conflicts, unsupported Node). */
function assertCleanInstall(output: { stdout: string; stderr: string }, what: string): void {
  assert.doesNotMatch(output.stdout + output.stderr, /ERESOLVE|EBADENGINE/, `${what}:\n${output.stderr}`);
}

describe('install path (README "Write an extension", from a checkout)', function () {
  // Two installs (better-sqlite3 compiles in each) and a build: ~5 min alone, far more on a loaded machine.
  this.timeout(45 * 60_000);

  it('pack -> install the tarball -> new -> npm install -> npm test -> serve -> query', async () => {
    const { dir, cleanup } = tempDir('forge-install-');
    try {
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      const packed = await run('npm', ['pack', '--pack-destination', dir], ROOT);
      const tarball = join(dir, `forge-extensions-${version}.tgz`);
      assert.ok(existsSync(tarball), packed.stdout);

      const app = join(dir, 'app');
      await run('mkdir', [app], dir);
      await run('npm', ['init', '-y'], app);
      assertCleanInstall(await run('npm', ['install', tarball], app), 'npm install <tarball>');
      await run('npm', ['ls', '--all'], app); // exits non-zero on an invalid, missing or extraneous package
      const typed = await run('npx', ['forge-ext', 'types', 'wit-types'], app);
      assert.match(typed.stdout, /wit-types\/interfaces\/forge-extension-database\.d\.ts/);

      await run('npx', ['forge-ext', 'new', 'notes', '--sdk', tarball], app);
      const project = join(app, 'notes');
      assertCleanInstall(await run('npm', ['install'], project), "the scaffold's npm install");
      await run('npm', ['ls', '--all'], project);
      // Exit code 0 is the verdict (run rejects otherwise); the count is printed as `# pass 1`
      // (TAP, Node 20) or `ℹ pass 1` (Node 22+).
      const tested = await run('npm', ['test'], project);
      assert.match(tested.stdout, /^\S* ?pass 1$/m);
      assert.match(tested.stdout, /^\S* ?fail 0$/m);
      assert.ok(existsSync(join(project, 'notes.wasm')));

      await withServer(project, async (url) => {
        const post = async (query: string) => (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as { data: unknown };
        assert.deepEqual((await post('mutation { addNote(text: "installed") { text } }')).data, { addNote: { text: 'installed' } });
        assert.deepEqual((await post('{ notes { text } }')).data, { notes: [{ text: 'installed' }] });
      });
    } finally {
      cleanup();
    }
  });
});

/** `npx forge-ext serve . --port 0` in `cwd` until `fn` is done; stops its whole process group. */
async function withServer(cwd: string, fn: (url: string) => Promise<void>): Promise<void> {
  const child = spawn('npx', ['forge-ext', 'serve', '.', '--port', '0', '--no-watch'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 180_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /GraphQL API and GraphiQL: (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`serve exited (${code}):\n${output}`)));
    });
    await fn(url);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}
