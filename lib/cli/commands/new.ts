/** `forge-ext new <name>`: scaffold an extension project that builds and passes its test. */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { assertExtensionName } from '../../data/names.js';
import { typePrefix } from '../../schema/namespace.js';
import { CliError, type Command } from '../cli.js';
import { PACKAGE } from '../package-info.js';

export const scaffold: Command = {
  usage: 'new <name> [--dir <dir>] [--sdk <spec>]',
  summary: 'scaffold an extension project (TypeScript, build script, a test)',
  help: `Creates <dir> (default: ./<name>) with a TypeScript extension written with the guest SDK
(a "notes" example: a table, two SQL resolvers and a guest resolver), package.json scripts,
a tsconfig and a test that loads the built component:

  cd <name> && npm install && npm test     # build <name>.wasm, then run the test
  npx forge-ext serve .                    # try it at http://localhost:4000/graphql

<name> must be a valid extension name: lower-case letters, digits, "_" or "-", starting with
a letter.

Options:
  --dir <dir>    where to create the project (default: ./<name>)
  --sdk <spec>   the forge-extensions dependency to write into package.json, as npm takes
                 it: a version range, a tarball from \`npm pack\`, a directory, a git URL.
                 A relative path is made absolute (the project lives elsewhere).
                 Default: ^<the version of this forge-ext> (${PACKAGE.version}).`,
  options: { dir: { type: 'string' }, sdk: { type: 'string' } },
  positionals: [1, 1],
  async run([name], options) {
    try {
      assertExtensionName(name!);
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    const dir = resolve((options['dir'] as string | undefined) ?? name!);
    if (existsSync(dir)) throw new CliError(`${dir} already exists`, 2);
    const sdk = dependencySpec((options['sdk'] as string | undefined) ?? `^${PACKAGE.version}`);
    try {
      for (const [file, content] of Object.entries(files(name!, sdk))) {
        const path = join(dir, file);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, content);
      }
    } catch (e) {
      // `dir` did not exist: nothing of the user's is in it, and half a project helps no one.
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    process.stdout.write(`✓ created ${dir}\n\n  cd ${dir}\n  npm install\n  npm test          # builds ${name}.wasm and tests it\n  npx forge-ext serve .\n`);
    return 0;
  },
};

/**
 * The `--sdk` spec as package.json should hold it. npm reads a spec that starts with `file:`, `./`,
 * `../`, `/` or `~/`, or names a `.tgz`, as a path relative to the project; the user wrote it
 * relative to where they ran `new`, so it becomes an absolute `file:` spec (and must exist).
 */
function dependencySpec(spec: string): string {
  if (spec === '') throw new CliError('--sdk needs a value (a version range, a tarball or a directory)', 2);
  // What npm could never install (a shell fragment, an option, a control character) is refused
  // here, not by the user's first `npm install` in the new project.
  if (spec.startsWith('-') || /[\0-\x1f;&$`'"]/.test(spec)) throw new CliError(`--sdk ${JSON.stringify(spec)} is not a dependency spec npm takes (a version range, a tarball, a directory, a git URL)`, 2);
  const local = spec.startsWith('file:') ? spec.slice('file:'.length) : spec;
  if (local === spec && /^([a-z+]+:\/\/|git[+@:]|github:|npm:|workspace:)/.test(spec)) return spec;
  const isPath = local !== spec || /^(\.{1,2}(\/|$)|\/|~\/)/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec);
  if (!isPath) return spec;
  const path = local.startsWith('~/') ? join(process.env['HOME'] ?? '~', local.slice(2)) : local;
  if (!existsSync(path)) throw new CliError(`--sdk ${spec}: no such file or directory (build one with \`npm pack\` in a forge-extensions checkout)`, 2);
  return `file:${isAbsolute(path) ? path : resolve(path)}`;
}

/** The project's files; `sdk` is the forge-extensions dependency spec. */
export function files(name: string, sdk = `^${PACKAGE.version}`): Record<string, string> {
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: {
          build: `forge-ext build src/index.ts --out ${name}.wasm`,
          // No path: \`node --test test/\` fails on Node 22+ (a directory is taken as a module)
          // and globs are not expanded on Node 20; bare --test finds test/*.test.mjs on every line.
          test: 'npm run build && node --test',
          check: `forge-ext check ${name}.wasm`,
          serve: 'forge-ext serve .',
        },
        devDependencies: { 'forge-extensions': sdk, typescript: PACKAGE.dependencies?.typescript ?? '5.9.3' },
        // The same install-script approvals as this package: better-sqlite3 builds its addon,
        // esbuild's postinstall is not needed; npm 11 warns on every install without them.
        allowScripts: PACKAGE.allowScripts ?? {},
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true }, include: ['src'] },
      null,
      2,
    )}\n`,
    '.gitignore': 'node_modules/\n*.wasm\ndata/\n',
    'src/index.ts': `// The ${name} extension. Build: npm run build. Contract: forge:extension@0.1.0.
import { defineExtension, ExtensionError, sql } from 'forge-extensions/guest';

interface Note {
  id: number;
  text: string;
  createdAt: string;
}

export default defineExtension({
  // Own types are prefixed by the host (Note -> ${typePrefix(name)}Note); fields added to
  // Query and Mutation keep their names. A field marked \${sql(...)} is a SQL resolver: the
  // host runs its statement on this extension's database and shapes the rows (no resolver).
  schema: /* GraphQL */ \`
    type Note {
      id: ID!
      text: String!
      createdAt: String!
    }
    extend type Query {
      notes: [Note!]! \${sql('SELECT id, text, created_at AS createdAt FROM notes ORDER BY id')}
      noteCount: Int! \${sql('SELECT count(*) FROM notes')}
    }
    extend type Mutation {
      addNote(text: String!): Note!
    }
  \`,

  // Applied once each, in order, in one transaction. Add new ones; never edit applied ones.
  migrations: [
    \`CREATE TABLE notes (
       id INTEGER PRIMARY KEY,
       text TEXT NOT NULL,
       created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     )\`,
  ],

  // Resolvers for the fields without @sql: code, for what SQL cannot say.
  resolvers: {
    // A Mutation field runs in a transaction: throwing rolls its writes back.
    'Mutation.addNote': ({ text }, { db }) => {
      if (text.trim() === '') throw new ExtensionError('a note needs some text');
      return db.get<Note>('INSERT INTO notes (text) VALUES (?) RETURNING id, text, created_at AS createdAt', [text]);
    },
  },
});
`,
    'test/extension.test.mjs': `// Loads the built component in the real sandbox and calls it, as a host would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExtension } from 'forge-extensions';

const wasm = fileURLToPath(new URL('../${name}.wasm', import.meta.url));

test('adds and lists notes, and refuses an empty one', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), '${name}-test-'));
  const ext = await loadExtension(wasm, { dataDir });
  try {
    const note = await ext.resolveField({ typeName: 'Mutation', fieldName: 'addNote', arguments: { text: 'hello' } }, { write: true });
    assert.equal(note.text, 'hello');
    const notes = await ext.resolveField({ typeName: 'Query', fieldName: 'notes' });
    assert.deepEqual(notes.map((n) => n.text), ['hello']);
    assert.equal(await ext.resolveField({ typeName: 'Query', fieldName: 'noteCount' }), 1);
    await assert.rejects(
      ext.resolveField({ typeName: 'Mutation', fieldName: 'addNote', arguments: { text: ' ' } }, { write: true }),
      { code: 'EXTENSION_ERROR', message: 'a note needs some text' },
    );
  } finally {
    await ext.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
`,
    'README.md': `# ${name}

A [forge-extensions](https://www.npmjs.com/package/forge-extensions) extension.

    npm install
    npm test              # builds ${name}.wasm and runs test/
    npm run check         # validates it as a host would
    npm run serve         # http://localhost:4000/graphql, reloads when you rebuild

Deploy: copy \`${name}.wasm\` into the host's extensions directory.
`,
  };
}
