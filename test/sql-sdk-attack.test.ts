/**
 * An attack on the SDK/CLI side of SQL resolvers (issue 14): the guest SDK's `sql()`, the
 * build's static evaluation of a schema (`forge-ext build`), and the `issues` fixture's SQL
 * resolvers and triggers as a client can drive them. Real parts: the real CLI on real source
 * files, the `issues` and `probe` fixtures built by the real toolchain.
 *
 * The build cases give every source a type error too, so that `forge-ext build` stops after its
 * checks (no componentize-js run, seconds not a minute) and prints every problem it found.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { Kind, parse, type ConstDirectiveNode, type ObjectTypeDefinitionNode } from 'graphql';
import { ROOT } from '../fixtures/build.js';
import { sql, SqlDirectiveError, type SqlOptions } from '../lib/guest/sql.js';
import type { Extension } from '../lib/runtime/extension.js';
import { ExtensionLoadError } from '../lib/runtime/errors.js';
import { loadExtension } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { fixturePath, rejection, TEST_CACHE_DIR, tempDir } from './helpers.js';
import { probe } from './probe.js';
import { serve } from './sql-resolvers-app.js';

const CLI = join(ROOT, 'dist', 'lib', 'cli', 'main.js');
const exec = promisify(execFile);

/** The `@sql` directive `sql()` wrote, as a GraphQL parser reads it back. */
function parsedDirective(directive: string): ConstDirectiveNode {
  const type = parse(`type Q { f: Int ${directive} }`).definitions[0] as ObjectTypeDefinitionNode;
  return type.fields![0]!.directives![0]!;
}
const stringArgument = (d: ConstDirectiveNode, name: string) => {
  const value = d.arguments!.find((a) => a.name.value === name)!.value;
  assert.equal(value.kind, Kind.STRING);
  return value.value;
};

describe('SQL resolvers, SDK and CLI attack: sql()', () => {
  it('round-trips any Unicode text (quotes, backslashes, line terminators, """, ${}, NUL) through a GraphQL parser', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'grapheme-composite', maxLength: 100 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.constantFrom('"""', '\\', '\\"', '${x}', '\r\n\u2028\u2029\u0000\u007f', '"\\u0041"', '#', '\ufeff'),
    );
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')), (text) => {
        const d = parsedDirective(sql(text, { key: text, parentKey: text, json: [text, 'x'] }));
        assert.equal(stringArgument(d, 'query'), text);
        assert.equal(stringArgument(d, 'key'), text);
        assert.equal(stringArgument(d, 'parentKey'), text);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips a 3 MB statement', () => {
    const text = 'SELECT "x" || \'\\\' FROM t -- é 😀\n'.repeat(100_000);
    assert.equal(stringArgument(parsedDirective(sql(text)), 'query'), text);
  });

  // Untyped JavaScript (or `as any`) can pass anything; the SDK's own error says what is wrong.
  it('refuses options of the wrong shape with SqlDirectiveError, not a TypeError', () => {
    for (const options of [{ json: 'tags' }, null, { key: 1 }]) {
      assert.throws(() => sql('SELECT 1', options as unknown as SqlOptions), (e: unknown) => e instanceof SqlDirectiveError, JSON.stringify(options));
    }
  });
});

describe('SQL resolvers, SDK and CLI attack: forge-ext build source checks', function () {
  this.timeout(180_000);
  let project: { dir: string; cleanup: () => void };

  before(() => {
    project = tempDir('forge-sql-sdk-');
    // What `npm install` would do (as test/cli.test.ts): the SDK and TypeScript in node_modules.
    mkdirSync(join(project.dir, 'node_modules'));
    symlinkSync(ROOT, join(project.dir, 'node_modules', 'forge-extensions'), 'dir');
    symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(project.dir, 'node_modules', 'typescript'), 'dir');
  });
  after(() => project.cleanup());

  /** `forge-ext build` of `source` (as `<name>/index.ts`, no tsconfig: the defaults `new` writes). */
  async function build(name: string, source: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const dir = join(project.dir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.ts'), source);
    try {
      const { stdout, stderr } = await exec(process.execPath, [CLI, 'build', 'index.ts', '--out', `${name}.wasm`], { cwd: dir });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }
  /** A type error on the last line, so that the build stops after its checks. */
  const STOP = "\nexport const stop: number = 'not a number';\n";

  it('reports a schema const that refers to itself as a problem, not a crash with a stack trace', async () => {
    for (const [name, source] of [
      ['cycle', "import { defineExtension } from 'forge-extensions/guest';\nconst A: string = B;\nconst B: string = A;\nexport default defineExtension({ schema: A, resolvers: {} });\n"],
      ['self', "import { defineExtension } from 'forge-extensions/guest';\nconst S: string = `extend type Query { x: Int } ${S}`;\nexport default defineExtension({ schema: S, resolvers: {} });\n"],
    ] as const) {
      const { code, stderr } = await build(name, source + STOP);
      assert.equal(code, 1, stderr);
      assert.doesNotMatch(stderr, /unexpected error|RangeError|Maximum call stack|\n\s+at /, `${name}: ${stderr}`);
      assert.match(stderr, /build failed/, `${name}: ${stderr}`);
      assert.match(stderr, /index\.ts:2:\d+: error TS2448/, `${name}: ${stderr}`);
    }
  });

  it('places an SDL error at its line in a file with CRLF line endings', async () => {
    const lines = ["import { defineExtension } from 'forge-extensions/guest';", 'export default defineExtension({', '  schema: `', '    extend type Query {', '      a: Int', '      b: Strin', '    }', '  `,', '  resolvers: {},', '});'];
    const { code, stderr } = await build('crlf', lines.join('\r\n') + STOP.replace(/\n/g, '\r\n'));
    assert.equal(code, 1, stderr);
    assert.match(stderr, /index\.ts:6:10: Unknown type "Strin"/, stderr);
  });

  it('places an SDL error at its line after an escape (\\`) earlier in the same template', async () => {
    const source = "import { defineExtension } from 'forge-extensions/guest';\nexport default defineExtension({\n  schema: `\n    extend type Query {\n      \"the \\`a\\` field\"\n      a: Int\n      b: Strin\n    }\n  `,\n  resolvers: {},\n});\n";
    const { code, stderr } = await build('escape', source + STOP);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /index\.ts:7:10: Unknown type "Strin"/, stderr);
  });

  // "a const holding one" (docs/writing-extensions.md, "Build and test") and "sql() calls": a
  // directive kept in a const, as one keeps statements in consts, is determined too.
  it('checks a schema whose sql() directive is held in a const', async () => {
    const source = "import { defineExtension, sql } from 'forge-extensions/guest';\nconst COUNT = sql('SELECT 1');\nexport default defineExtension({\n  schema: `extend type Query { n: Int ${COUNT} }`,\n  resolvers: { 'Query.n': () => 1 },\n});\n";
    const { code, stderr } = await build('const-directive', source + STOP);
    assert.equal(code, 1, stderr);
    assert.doesNotMatch(stderr, /note: the schema is computed/, stderr);
    assert.match(stderr, /index\.ts:5:\d+: resolver "Query\.n" is for a field the schema resolves with @sql/, stderr);
  });

  it('checks (or notes it cannot check) the schema of defineExtension imported under another name', async () => {
    const source = "import { defineExtension as extension } from 'forge-extensions/guest';\nexport default extension({\n  schema: `extend type Query { b: Strin }`,\n  resolvers: { 'Query.c': () => 1 },\n});\n";
    const { code, stderr } = await build('renamed', source + STOP);
    assert.equal(code, 1, stderr);
    // Either the SDL is checked, or the build says it was not: never a silent pass.
    assert.match(stderr, /Unknown type "Strin"|note: the schema/, stderr);
  });
  // The same kind: a definition part held somewhere the check did not look was skipped silently.
  it('checks resolver keys held in a const (and spread into it); notes resolvers it cannot know', async () => {
    const source = "import { defineExtension } from 'forge-extensions/guest';\nconst common = { 'Query.b': () => 2 };\nconst RESOLVERS = { ...common, 'Query.c': () => 1 };\nconst def = { schema: `extend type Query { a: Int }`, resolvers: RESOLVERS };\nexport default defineExtension(def);\nexport const other = defineExtension({ schema: `extend type Query { a: Int }`, resolvers: (() => ({}))() });\n";
    const { code, stderr } = await build('resolvers-const', source + STOP);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /index\.ts:2:18: resolver "Query\.b" matches no field in the schema; did you mean "Query\.a"\?/, stderr);
    assert.match(stderr, /index\.ts:3:32: resolver "Query\.c" matches no field/, stderr);
    assert.match(stderr, /index\.ts:6:91: note: the resolvers are computed when the extension runs/, stderr);
  });
});

describe('SQL resolvers, SDK and CLI attack: the issues fixture', () => {
  let data: { dir: string; cleanup: () => void };
  let ext: Extension;
  beforeEach(async () => {
    data = tempDir();
    ext = await loadExtension(fixturePath('issues'), { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, isolation: 'inline' });
  });
  afterEach(async () => {
    await ext.close();
    data.cleanup();
  });
  const createIssue = (title: string) => ext.resolveField({ typeName: 'Mutation', fieldName: 'createIssue', arguments: { title } }, { write: true });
  const issueCount = async () => ((await ext.resolveField({ typeName: 'Query', fieldName: 'issues', arguments: { first: 500 } })) as unknown[]).length;

  // SQLite's length() counts the characters before the first NUL, so the trigger's 200 limit
  // reads a 1-character title; a GraphQL String ("\u0000") and JSON carry a NUL fine.
  it('refuses a title longer than 200 characters that has a NUL near its start', async () => {
    const e = await rejection(createIssue(`x\u0000${'y'.repeat(1000)}`));
    assert.match(e.message, /title is longer than 200 characters/);
    assert.equal(await issueCount(), 0, 'nothing written');
    assert.ok(await createIssue('still serving'));
  });

  // The scaffold's own check (`text.trim() === ''`) is JavaScript's: Unicode white space.
  it('refuses a title of only Unicode white space (U+3000, U+00A0, U+2003) as empty', async () => {
    const e = await rejection(createIssue('\u3000\u00a0\u2003'));
    assert.match(e.message, /title must not be empty/);
    assert.equal(await issueCount(), 0, 'nothing written');
  });
});

describe('SQL resolvers, SDK and CLI attack: load-time checks a newcomer relies on', () => {
  let data: { dir: string; cleanup: () => void };
  beforeEach(() => (data = tempDir()));
  afterEach(() => data.cleanup());

  // A row column can only fill a list field as JSON text; without json: [...] every query of the
  // field fails at run time (a string is no list), so the version should be refused at load.
  it('refuses a list field filled from a column not declared json', async () => {
    const config = {
      migrate: `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, tags TEXT NOT NULL DEFAULT '[]');
                INSERT INTO notes (tags) SELECT '["x"]' WHERE NOT EXISTS (SELECT 1 FROM notes);`,
      sdl: 'type Note { id: ID! tags: [String!]! } extend type Query { notes: [Note!]! @sql(query: "SELECT id, tags FROM notes") }',
    };
    let ext: Extension | undefined;
    let e: unknown;
    try {
      ext = await probe(data.dir, { config });
    } catch (error) {
      e = error;
    }
    if (ext) {
      const value = await ext.resolveField({ typeName: 'Query', fieldName: 'notes' });
      await ext.close();
      assert.fail(`loaded; Query.notes answers ${JSON.stringify(value)}: tags is a string where the schema has a list`);
    }
    assert.ok(e instanceof ExtensionLoadError, String(e));
    assert.equal(e.step, 'sql-resolvers');
    assert.match(e.message, /Query\.notes @sql: .*tags.*json/);
  });

  // The docs' own example pages with `LIMIT :first` (first: Int = 20); a client may still send
  // `first: null`. SQLite then says only "datatype mismatch": the author cannot tell which field
  // or parameter, the client cannot tell what to change.
  it('names the field of a statement that fails on a NULL argument', async () => {
    const config = {
      migrate: 'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY)',
      sdl: 'extend type Query { ids(first: Int = 20): [Int!]! @sql(query: "SELECT id FROM notes ORDER BY id LIMIT :first") }',
    };
    const ext = await probe(data.dir, { config });
    try {
      const e = await rejection(ext.resolveField({ typeName: 'Query', fieldName: 'ids', arguments: { first: null } }));
      assert.equal(e.code, 'EXTENSION_ERROR');
      assert.match(e.message, /Query\.ids|:first/, e.message);
    } finally {
      await ext.close();
    }
  });

  // @sql is known to the host; "Unknown directive" sends the author looking for a missing
  // definition. Said by the host that composes the schema (as `forge-ext serve` does).
  it('says where @sql may go when it is placed on an argument or an input field', async () => {
    for (const sdl of [
      'extend type Query { n(a: Int @sql(query: "SELECT 1")): Int }',
      'input Filter { a: Int @sql(query: "SELECT 1") } extend type Query { n(f: Filter): Int }',
    ]) {
      // No application schema: the extension's SDL alone.
      const served = await serve({ sdl, migrate: 'SELECT 1' }, { schema: undefined });
      try {
        const status = served.state();
        assert.equal(status.state, 'failed', sdl);
        assert.doesNotMatch(status.error!, /Unknown directive "@sql"/, status.error);
        assert.match(status.error!, /@sql.*field/, status.error);
      } finally {
        await served.close();
      }
    }
  });
});
