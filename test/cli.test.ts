/**
 * The `forge-ext` command line, run as a real process: `new` -> `npm test` (build + the
 * scaffold's own test) -> `check` -> `serve` end to end, with forge-extensions linked in (the
 * installed path is test/install.test.ts); rebuilds give the same bytes; `check` on every bad
 * fixture; help, usage errors and exit codes; the source checks of `build` (types, SDL,
 * resolver keys) at file:line:column; `--out` paths; `inspect` and `types`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
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
  // Builds take ~10 s alone and minutes on a loaded 2-core CI machine: generous margins.
  this.timeout(600_000);

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
      // npm test exited 0 (exec rejects otherwise); the count reads `# pass 1` (TAP, Node 20)
      // or `ℹ pass 1` (Node 22+), so match either.
      assert.match(npm.stdout, /^\S* ?pass 1$/m);
      assert.match(npm.stdout, /^\S* ?fail 0$/m);

      // Same source, same toolchain: the same bytes, and the file is not even rewritten (a
      // watching host reloads nothing). A new --out directory is created.
      const wasm = join(project, 'notes.wasm');
      const first = readFileSync(wasm);
      const mtime = statSync(wasm).mtimeMs;
      const again = await forgeExt(['build'], project);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(readFileSync(wasm).equals(first), 'a rebuild of the same source gives the same bytes');
      assert.equal(statSync(wasm).mtimeMs, mtime, 'an unchanged rebuild does not rewrite the file');
      const nested = await forgeExt(['build', '--out', 'missing/dir/x.wasm'], project);
      assert.equal(nested.code, 0, nested.stderr);
      assert.ok(readFileSync(join(project, 'missing', 'dir', 'x.wasm')).equals(first));
      // A file that cannot be written once built (its directory exists, but nothing can be
      // created in it; root passes permission bits, /proc refuses everyone): a named error.
      if (process.platform === 'linux') {
        const unwritable = await forgeExt(['build', '--out', '/proc/self/notes.wasm'], project);
        assert.equal(unwritable.code, 1);
        assert.match(unwritable.stderr, /forge-ext build: build failed: cannot write \/proc\/self\/notes\.wasm: E[A-Z]+\n$/);
        assert.doesNotMatch(unwritable.stderr, /\n\s+at /, 'no stack trace');
      }

      const checked = await forgeExt(['check', 'notes.wasm'], project);
      assert.equal(checked.code, 0, checked.stderr);
      assert.match(checked.stdout, /✓ notes\.wasm is a valid extension/);
      assert.match(checked.stdout, /types {5}Note \(Notes_Note\)/);
      assert.match(checked.stdout, /fields {4}Query: notes, noteCount; Mutation: addNote/);

      await withServer(['serve', project, '--port', '0', '--data', join(dir, 'data'), '--no-watch'], project, async (url) => {
        const post = async (query: string) => (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as { data: unknown };
        assert.deepEqual((await post('mutation { addNote(text: "served") { text } }')).data, { addNote: { text: 'served' } });
        assert.deepEqual((await post('{ notes { text } noteCount }')).data, { notes: [{ text: 'served' }], noteCount: 1 });
        const page = await fetch(url, { headers: { accept: 'text/html' } });
        assert.match(await page.text(), /GraphiQL/);
        assert.equal((await fetch(new URL('/favicon.ico', url))).status, 204);
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
      // The resolvers follow the config as the schema does: all of them without @sql.
      const guest = await forgeExt(['check', fixturePath('issues'), '--config', '{"guestResolvers":true,"repositories":true}', '--schema', schemaFile]);
      assert.equal(guest.code, 0, guest.stderr);
    } finally {
      cleanup();
    }
  });

  it('build refuses each of the three mistakes of issue 13 at src/index.ts:LINE:COL, before bundling', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      assert.equal((await forgeExt(['new', 'notes'], dir)).code, 0);
      const project = join(dir, 'notes');
      const original = readFileSync(join(project, 'src', 'index.ts'), 'utf8');
      /** Builds with `edit` applied; returns stderr and the 1-based line:column of `marker` in the edited file. */
      const buildWith = async (edit: (source: string) => string, marker: string) => {
        const source = edit(original);
        assert.notEqual(source, original, 'the edit applies');
        writeFileSync(join(project, 'src', 'index.ts'), source);
        const result = await forgeExt(['build'], project);
        assert.equal(result.code, 1, result.stderr);
        assert.doesNotMatch(result.stderr, /bundling|componentizing/);
        assert.ok(!existsSync(join(project, 'notes.wasm')));
        const offset = source.indexOf(marker);
        const before = source.slice(0, offset).split('\n');
        return { stderr: result.stderr, at: (delta = 0) => `src/index.ts:${before.length}:${before.at(-1)!.length + 1 + delta}` };
      };

      // 1. A type error: `row` may be undefined and `n` is a number (TS18048, TS2339).
      const typeError = await buildWith(
        (s) => s.replace("  resolvers: {\n", "  resolvers: {\n    'Query.notesCount': (_args, { db }) => {\n      const row = db.get<{ n: number }>('SELECT count(*) AS n FROM notes');\n      return row.n.toUpperCase();\n    },\n").replace('    extend type Query {\n', '    extend type Query {\n      notesCount: Int!\n'),
        'row.n.toUpperCase',
      );
      assert.ok(typeError.stderr.includes(`${typeError.at()}: error TS18048: 'row' is possibly 'undefined'.`), typeError.stderr);
      assert.ok(typeError.stderr.includes(`${typeError.at(6)}: error TS2339: Property 'toUpperCase' does not exist on type 'number'.`), typeError.stderr);

      // 2. Invalid SDL: a field without its colon. Reported where it is in the source file.
      const sdl = await buildWith((s) => s.replace('      text: String!\n', '      text String!\n'), 'String!\n      createdAt');
      assert.ok(sdl.stderr.includes(`${sdl.at()}: invalid SDL: syntax error: Expected ":", found Name "String".`), sdl.stderr);

      // 3. A resolver key that names no field: the nearest field is named.
      const key = await buildWith((s) => s.replace("'Mutation.addNote':", "'Mutation.addNotes':"), "'Mutation.addNotes'");
      assert.ok(key.stderr.includes(`${key.at()}: resolver "Mutation.addNotes" matches no field in the schema; did you mean "Mutation.addNote"?`), key.stderr);

      // A resolver for a field the host resolves with @sql: it would never run.
      const shadowed = await buildWith((s) => s.replace("  resolvers: {\n", "  resolvers: {\n    'Query.notes': () => [],\n"), "'Query.notes'");
      assert.ok(
        shadowed.stderr.includes(`${shadowed.at()}: resolver "Query.notes" is for a field the schema resolves with @sql, so it would never run; remove the resolver or the field's @sql`),
        shadowed.stderr,
      );
      // The SDL is a template with sql() calls: the build evaluates them (with the SDK's own
      // function), so a mistake after them is still placed exactly...
      const afterSql = await buildWith((s) => s.replace('addNote(text: String!)', 'addNote(text: Strin!)'), 'Strin!');
      assert.ok(afterSql.stderr.includes(`${afterSql.at()}: Unknown type "Strin". Did you mean "String"?`), afterSql.stderr);
      // ... and a declaration @sql refuses whatever the database holds is reported at its field.
      const rootKey = await buildWith((s) => s.replace("sql('SELECT count(*) FROM notes')", "sql('SELECT count(*) FROM notes', { key: 'n' })"), 'noteCount: Int!');
      assert.ok(rootKey.stderr.includes(`${rootKey.at()}: Query.noteCount @sql: a root field has no parent: key and parentKey are for fields of other types`), rootKey.stderr);

      // Also an SDL validation error (not only syntax): an unknown type, at its position.
      const unknownType = await buildWith((s) => s.replace('createdAt: String!', 'createdAt: Strnig!'), 'Strnig');
      assert.ok(unknownType.stderr.includes(`${unknownType.at()}: Unknown type "Strnig". Did you mean "String"?`), unknownType.stderr);
    } finally {
      cleanup();
    }
  });

  it('check matches the resolver keys of a built SDK extension against its SDL', async () => {
    const result = await forgeExt(['check', fixturePath('sdk-misspelled')]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /failed at resolvers: resolver "Query\.noteCount" matches no field in the schema; did you mean "Query\.notesCount"\?; resolver "Query\.notes" is for a field the schema resolves with @sql, so it would never run; remove the resolver or the field's @sql\n/,
    );
    const good = await forgeExt(['check', fixturePath('sdk-v1')]);
    assert.equal(good.code, 0, good.stderr);
  });

  it('build --out: refuses a path it cannot write before building (exit 2, no stack trace)', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      assert.equal((await forgeExt(['new', 'notes'], dir)).code, 0);
      const project = join(dir, 'notes');
      const intoDirectory = await forgeExt(['build', '--out', 'src'], project);
      assert.equal(intoDirectory.code, 2);
      assert.match(intoDirectory.stderr, /--out .*src is a directory/);
      const underFile = await forgeExt(['build', '--out', 'package.json/x.wasm'], project);
      assert.equal(underFile.code, 2);
      assert.match(underFile.stderr, /cannot create the directory of --out .*package\.json\/x\.wasm: (ENOTDIR|EEXIST)/);
      const source = readFileSync(join(project, 'src', 'index.ts'), 'utf8');
      const ontoSource = await forgeExt(['build', '--out', 'src/index.ts'], project);
      assert.equal(ontoSource.code, 2);
      assert.match(ontoSource.stderr, /--out .*src\/index\.ts exists and is not a WebAssembly file; refusing to overwrite it/);
      assert.equal(readFileSync(join(project, 'src', 'index.ts'), 'utf8'), source, 'the source is untouched');
      for (const r of [intoDirectory, underFile, ontoSource]) {
        assert.doesNotMatch(r.stderr, /checking|bundling|\n\s+at /, 'refused before any step, without a stack trace');
      }
    } finally {
      cleanup();
    }
  });

  it('new --sdk writes the dependency spec it was given; by default ^ its own version', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      const spec = (name: string) => (JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['forge-extensions'];
      assert.equal((await forgeExt(['new', 'plain'], dir)).code, 0);
      assert.equal(spec('plain'), `^${version}`);
      assert.equal((await forgeExt(['new', 'ranged', '--sdk', '~0.1.2'], dir)).code, 0);
      assert.equal(spec('ranged'), '~0.1.2');
      writeFileSync(join(dir, 'forge-extensions-0.1.0.tgz'), '');
      assert.equal((await forgeExt(['new', 'packed', '--sdk', './forge-extensions-0.1.0.tgz'], dir)).code, 0);
      assert.equal(spec('packed'), `file:${join(dir, 'forge-extensions-0.1.0.tgz')}`, 'a relative path becomes absolute: the project lives elsewhere');
      assert.equal((await forgeExt(['new', 'packed-file', '--sdk', 'file:forge-extensions-0.1.0.tgz'], dir)).code, 0);
      assert.equal(spec('packed-file'), `file:${join(dir, 'forge-extensions-0.1.0.tgz')}`, 'a relative file: spec becomes absolute too');
      const missing = await forgeExt(['new', 'missing', '--sdk', './nowhere.tgz'], dir);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--sdk \.\/nowhere\.tgz: no such file or directory/);
      assert.ok(!existsSync(join(dir, 'missing')));
      // Specs npm could never install are refused before anything is written.
      for (const odd of ['^0.1.0; rm -rf ~', '-x', 'file:/nowhere/forge.tgz', '$(id)', '0.1.0\n']) {
        const refused = await forgeExt(['new', 'odd', `--sdk=${odd}`], dir);
        assert.equal(refused.code, 2, `--sdk ${odd}`);
        assert.match(refused.stderr, /^forge-ext new: --sdk .*(is not a dependency spec npm takes|no such file or directory)/);
        assert.ok(!existsSync(join(dir, 'odd')));
      }
      // The same install-script approvals as this package (npm 11 warns on every install without).
      const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts: unknown };
      assert.deepEqual((JSON.parse(readFileSync(join(dir, 'plain', 'package.json'), 'utf8')) as { allowScripts: unknown }).allowScripts, root.allowScripts);
      const versionOut = await forgeExt(['--version']);
      assert.equal(versionOut.stdout, `forge-ext ${version} (contract forge:extension@0.1.0)\n`);
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

  it('serve: a port in use is a one-line error (exit 1, no stack trace); a wrong --isolation is exit 2', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    const busy = createNetServer();
    try {
      await new Promise<void>((resolve) => busy.listen(0, resolve));
      const { port } = busy.address() as AddressInfo;
      const result = await forgeExt(['serve', dir, '--port', String(port), '--data', join(dir, 'data'), '--no-watch']);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, `forge-ext serve: port ${port} is in use; choose another with --port\n`);
      const isolation = await forgeExt(['serve', dir, '--isolation', 'thread']);
      assert.equal(isolation.code, 2);
      assert.match(isolation.stderr, /--isolation must be process, worker or inline, not thread/);
    } finally {
      busy.close();
      cleanup();
    }
  });

  it('paths that are the wrong kind of file: one line naming the path, exit 1 or 2, nothing of the user changed', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      writeFileSync(join(dir, 'package.json'), '{"name":"keep"}');
      mkdirSync(join(dir, 'src'));
      const cases: Array<[string[], number, RegExp]> = [
        [['build', 'src'], 2, /^forge-ext build: entry module src is a directory; give its file \(like src\/index\.ts\)\n$/],
        [['serve', 'package.json'], 2, /^forge-ext serve: package\.json is not a directory/],
        [['types', 'package.json'], 1, /^forge-ext types: cannot mkdir .*package\.json: EEXIST\n$/],
        [['new', 'zz', '--dir', 'package.json/x'], 1, /^forge-ext new: cannot mkdir .*package\.json\/x: ENOTDIR\n$/],
      ];
      for (const [args, code, stderr] of cases) {
        const result = await forgeExt(args, dir);
        assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, stderr);
      }
      assert.equal(readFileSync(join(dir, 'package.json'), 'utf8'), '{"name":"keep"}');
      assert.deepEqual(readdirSync(dir).sort(), ['package.json', 'src']);
    } finally {
      cleanup();
    }
  });

  it('reports a source error with its file, line and column', async () => {
    const { dir, cleanup } = tempDir('forge-cli-');
    try {
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'broken' }));
      writeFileSync(join(dir, 'src', 'index.ts'), "import { defineExtension } from 'forge-extensions/guest';\nexport default defineExtension({\n  schema: 'type X { y: Int }',\n  resolvers: { 'X.y': () => 1 +* 2 },\n});\n");
      const result = await forgeExt(['build'], dir);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /build failed: 1 problem in the source\n {2}src\/index\.ts:4:32: error TS1109: Expression expected\./);
      assert.doesNotMatch(result.stderr, /bundling/, 'the source checks run before the bundler');
      assert.ok(!existsSync(join(dir, 'broken.wasm')));

      // A schema computed at run time cannot be checked by the build: it says so (a note, not
      // a problem), rather than passing it in silence.
      writeFileSync(join(dir, 'src', 'index.ts'), "import { defineExtension } from 'forge-extensions/guest';\nexport default defineExtension({\n  schema: ['type X { y: Int }'].join('\\n'),\n  resolvers: { 'X.y': () => 1 +* 2 },\n});\n");
      const computed = await forgeExt(['build'], dir);
      assert.equal(computed.code, 1);
      assert.match(computed.stderr, /build failed: 1 problem in the source\n {2}src\/index\.ts:4:32: error TS1109: Expression expected\.\n {2}src\/index\.ts:3:11: note: the schema is computed when the extension runs, so the build cannot check it or the resolver keys; `forge-ext check <file\.wasm>` does\n/);

      // A tsconfig that is not valid JSON, or names an unknown option: reported at its place,
      // not as the type errors its half-read options would give.
      writeFileSync(join(dir, 'src', 'index.ts'), "import { defineExtension } from 'forge-extensions/guest';\nexport default defineExtension({ schema: 'type X { y: Int }', resolvers: {} });\n");
      for (const [tsconfig, expected] of [
        ['{ "compilerOptions": {\n', /^ {2}tsconfig\.json:2:1: error TS1005: '}' expected\.$/m],
        ['{ "compilerOptions": { "strictt": true } }', /^ {2}tsconfig\.json:1:24: error TS5025: Unknown compiler option 'strictt'\. Did you mean 'strict'\?$/m],
      ] as const) {
        writeFileSync(join(dir, 'tsconfig.json'), tsconfig);
        const bad = await forgeExt(['build'], dir);
        assert.equal(bad.code, 1, bad.stderr);
        assert.match(bad.stderr, /build failed: 1 problem in the source\n/);
        assert.match(bad.stderr, expected);
        assert.doesNotMatch(bad.stderr, /bundling|guest\/index\.d\.ts/);
      }
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
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 120_000);
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
