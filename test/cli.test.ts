/**
 * The `forge-ext` command line, run as a real process: `new` -> `npm test` (build + the
 * scaffold's own test) -> `check` -> `serve` end to end; `check` on every bad fixture; help,
 * usage errors and exit codes; source errors with file and line; `inspect` and `types`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../fixtures/build.js';
import { fixturePath, tempDir } from './helpers.js';

const CLI = join(ROOT, 'dist', 'lib', 'cli', 'main.js');
const exec = promisify(execFile);

/** Runs `forge-ext args...` in `cwd`; resolves its exit code and output (never rejects). */
async function forgeExt(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NODE_ENV: 'test' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('forge-ext', function () {
  this.timeout(180_000);

  it('new -> npm test -> check -> serve: a scaffold that builds, passes its test and serves', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      const created = await forgeExt(['new', 'notes'], dir);
      assert.equal(created.code, 0, created.stderr);
      const project = join(dir, 'notes');
      assert.deepEqual(readdirSync(project).sort(), ['.gitignore', 'README.md', 'package.json', 'src', 'test', 'tsconfig.json']);

      // What `npm install` would do: forge-extensions in node_modules, its bin on the PATH.
      mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
      symlinkSync(ROOT, join(project, 'node_modules', 'forge-extensions'), 'dir');
      symlinkSync(CLI, join(project, 'node_modules', '.bin', 'forge-ext'));
      const npm = await exec('npm', ['test'], { cwd: project }).catch((e: { stdout: string; stderr: string }) => {
        throw new Error(`the scaffold's npm test failed:\n${e.stdout}\n${e.stderr}`);
      });
      assert.match(npm.stderr, /✓ built .*notes\.wasm/);
      assert.match(npm.stdout, /# pass 1/);
      assert.match(npm.stdout, /# fail 0/);

      const checked = await forgeExt(['check', 'notes.wasm'], project);
      assert.equal(checked.code, 0, checked.stderr);
      assert.match(checked.stdout, /✓ notes\.wasm is a valid extension/);
      assert.match(checked.stdout, /types {5}Note \(Notes_Note\)/);
      assert.match(checked.stdout, /fields {4}Query: notes; Mutation: addNote/);

      await withServer(['serve', project, '--port', '0', '--data', join(dir, 'data'), '--no-watch'], project, async (url) => {
        const post = async (query: string) => (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as { data: unknown };
        assert.deepEqual((await post('mutation { addNote(text: "served") { text } }')).data, { addNote: { text: 'served' } });
        assert.deepEqual((await post('{ notes { text } }')).data, { notes: [{ text: 'served' }] });
        const page = await fetch(url, { headers: { accept: 'text/html' } });
        assert.match(await page.text(), /GraphiQL/);
      });
    } finally {
      cleanup();
    }
  });

  it('check refuses every bad file with a precise message and exit code 1', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      const truncated = join(dir, 'truncated.wasm');
      writeFileSync(truncated, readFileSync(fixturePath('counter')).subarray(0, 3000));
      const garbage = join(dir, 'garbage.wasm');
      writeFileSync(garbage, 'garbage');
      const cases: Array<[string, RegExp]> = [
        [garbage, /failed at validate: not a WebAssembly binary/],
        [truncated, /failed at validate: the file is truncated/],
        [fixturePath('core-module'), /failed at validate: this is a core WebAssembly module, not a component/],
        [fixturePath('unknown-import'), /failed at validate: unknown import "evil:net\/socket"/],
        [fixturePath('init-error'), /failed at init: init refused: missing configuration/],
        [fixturePath('migrate-fails'), /failed at migrate: near "THIS": syntax error/],
        [fixturePath('bad-sdl'), /failed at compose: invalid SDL: syntax error: Expected Name, found ":"\. \(SDL line 2, column 10\)/],
      ];
      for (const [file, message] of cases) {
        const result = await forgeExt(['check', file]);
        assert.equal(result.code, 1, `${file}: ${result.stdout}${result.stderr}`);
        assert.match(result.stderr, message, file);
        assert.match(result.stderr, /^✗ /);
      }
      const counter = await forgeExt(['check', fixturePath('counter')]);
      assert.equal(counter.code, 0, counter.stderr);
      assert.match(counter.stdout, /types {5}Row \(Counter_Row\), Change \(Counter_Change\)/);
      const repo = await forgeExt(['check', fixturePath('issues'), '--config', '{"repositories":true}']);
      assert.equal(repo.code, 1);
      assert.match(repo.stderr, /Cannot extend type "Repository" because it is not defined.*pass the application schema with --schema/);
      const schemaFile = join(dir, 'app.graphql');
      writeFileSync(schemaFile, 'type Repository { name: String! } type Query { repositories: [Repository!]! }');
      const withSchema = await forgeExt(['check', fixturePath('issues'), '--config', '{"repositories":true}', '--schema', schemaFile]);
      assert.equal(withSchema.code, 0, withSchema.stderr);
      assert.match(withSchema.stdout, /Repository: issues/);
    } finally {
      cleanup();
    }
  });

  it('has --help on every command, and exit code 2 for wrong usage', async () => {
    for (const command of ['new', 'build', 'check', 'inspect', 'serve', 'types']) {
      const help = await forgeExt([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: forge-ext ${command}`));
    }
    assert.equal((await forgeExt(['--help'])).code, 0);
    const unknown = await forgeExt(['deploy']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "deploy"/);
    const missing = await forgeExt(['check']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /expected 1 argument/);
    const badOption = await forgeExt(['build', '--bogus']);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /Unknown option '--bogus'/);
    const badName = await forgeExt(['new', 'Not Valid']);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /invalid extension name/);
    const noFile = await forgeExt(['check', 'nowhere.wasm']);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /cannot read nowhere.wasm: ENOENT/);
  });

  it('reports a source error with its file, line and column', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'broken' }));
      writeFileSync(join(dir, 'src', 'index.ts'), "import { defineExtension } from 'forge-extensions/guest';\nexport default defineExtension({\n  schema: 'type X { y: Int }',\n  resolvers: { 'X.y': () => 1 +* 2 },\n});\n");
      const result = await forgeExt(['build'], dir);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /build failed: src\/index\.ts:4:32: Unexpected "\*"/);
      assert.ok(!existsSync(join(dir, 'broken.wasm')));
    } finally {
      cleanup();
    }
  });

  it('inspect prints the WIT world, the contract version and the SDL; types writes the declarations', async () => {
    const inspected = await forgeExt(['inspect', fixturePath('issues')]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /contract: forge:extension@0\.1\.0/);
    assert.match(inspected.stdout, /import forge:extension\/database@0\.1\.0;/);
    assert.match(inspected.stdout, /export resolve-batch: func\(requests: list<field-request>\) -> list<result<json, string>>;/);
    assert.match(inspected.stdout, /# SDL\n[\s\S]*type Issue \{/);

    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      const typed = await forgeExt(['types', join(dir, 'types')]);
      assert.equal(typed.code, 0, typed.stderr);
      assert.match(readFileSync(join(dir, 'types', 'interfaces', 'forge-extension-database.d.ts'), 'utf8'), /declare module 'forge:extension\/database@0\.1\.0'/);
    } finally {
      cleanup();
    }
  });
});

/** Runs `forge-ext serve ...` until `fn` is done; `fn` gets the endpoint URL the server printed. */
async function withServer(args: string[], cwd: string, fn: (url: string) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000);
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
  try {
    await fn(url);
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `serve should stop cleanly on SIGTERM:\n${output}`);
  }
}
