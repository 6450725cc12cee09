/** `forge-ext build [entry]`: JavaScript/TypeScript extension -> `<name>.wasm`. */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { assertExtensionName } from '../../data/names.js';
import { buildExtension, BuildError } from '../build-extension.js';
import { CliError, type Command } from '../cli.js';
import { progress } from '../progress.js';
import { checkSource, formatProblem } from '../source-checks.js';

const STEPS = { check: 'checking types, SDL and resolvers', bundle: 'bundling with esbuild', componentize: 'componentizing (componentize-js takes a few seconds)', write: 'writing' };

export const build: Command = {
  usage: 'build [entry] [--out <file.wasm>] [--name <name>] [--no-cache]',
  summary: 'bundle and componentize a JS/TS extension into <name>.wasm',
  help: `Bundles the entry module (default: src/index.ts, else src/index.js, else index.js) with its
imports and the guest SDK (esbuild), then turns it into a WebAssembly component for the
forge:extension@0.1.0 world (componentize-js). Before that it checks the source: types (the
TypeScript compiler with the project's tsconfig.json), the SDL of defineExtension({ schema })
(parsed and validated as a host composes it, sql() calls evaluated, the @sql rules that need
no database) and every resolver key against that SDL (a field, and not one with @sql).

The same source and toolchain build the same bytes: components are kept by a key of the
bundled source, the WIT and the toolchain in node_modules/.cache/forge-ext, and an unchanged
rebuild does not rewrite <file> (a watching host does not reload).

Options:
  --out <file>    where to write the component (default: <name>.wasm); written atomically,
                  so a watching host reloads the complete file once; missing directories
                  are created; an existing file that is not WebAssembly is never replaced
  --name <name>   the extension name (default: package.json "name", else the directory name)
  --no-cache      componentize even when an identical build is cached

Every source problem is reported as file:line:column, and the build stops (exit 1).`,
  options: { out: { type: 'string', short: 'o' }, name: { type: 'string' }, 'no-cache': { type: 'boolean' } },
  positionals: [0, 1],
  async run([entryArg], options) {
    const entry = entryArg ?? ['src/index.ts', 'src/index.js', 'index.ts', 'index.js'].find((f) => existsSync(f));
    if (!entry) throw new CliError('no entry module: pass one, or create src/index.ts', 2);
    if (!existsSync(entry)) throw new CliError(`entry module ${entry} does not exist`, 2);
    if (statSync(entry).isDirectory()) throw new CliError(`entry module ${entry} is a directory; give its file (like ${join(entry, 'index.ts')})`, 2);
    const name = (options['name'] as string | undefined) ?? packageName() ?? basename(process.cwd());
    try {
      assertExtensionName(name);
    } catch (e) {
      throw new CliError(`${(e as Error).message}; choose one with --name`, 2);
    }
    const out = resolve((options['out'] as string | undefined) ?? `${name}.wasm`);
    prepareOutput(out, name);
    const bar = progress();
    try {
      bar.step(STEPS.check);
      const found = await checkSource(entry, name);
      const problems = found.filter((p) => !p.note);
      const notes = found.filter((p) => p.note).map((p) => `${formatProblem(p)}\n`);
      if (problems.length > 0) {
        bar.fail();
        throw new CliError(`build failed: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the source\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}${notes.map((n) => `\n  ${n.trimEnd()}`).join('')}`);
      }
      const cacheDir = options['no-cache'] ? undefined : join(process.cwd(), 'node_modules', '.cache', 'forge-ext');
      const bytes = await buildExtension({ entry, out, cacheDir, onStep: (step) => bar.step(STEPS[step]) });
      bar.done(`built ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
      process.stderr.write(notes.join(''));
      return 0;
    } catch (e) {
      bar.fail();
      if (e instanceof BuildError) throw new CliError(`build failed: ${e.message}`);
      throw e;
    }
  },
};

/**
 * Makes sure `out` can be written before the seconds of componentizing: creates its missing
 * directories; refuses (exit 2) a path that is a directory, under a file, or a file that is not
 * WebAssembly (never overwrites the user's source or config).
 */
function prepareOutput(out: string, name: string): void {
  if (existsSync(out) && statSync(out).isDirectory()) throw new CliError(`--out ${out} is a directory; give a file name (like ${name}.wasm)`, 2);
  // Only a previous build is replaced: `--out src/index.ts` (a slip) must not destroy the source.
  if (existsSync(out) && statSync(out).size > 0 && !isWebAssembly(out)) throw new CliError(`--out ${out} exists and is not a WebAssembly file; refusing to overwrite it`, 2);
  try {
    mkdirSync(dirname(out), { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create the directory of --out ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
  }
}

/** Whether `path` starts with the WebAssembly magic number `\0asm`. */
function isWebAssembly(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from('\0asm', 'latin1'));
  } finally {
    closeSync(fd);
  }
}

/** The unscoped name in ./package.json, if any. */
function packageName(): string | undefined {
  try {
    const name = (JSON.parse(readFileSync('package.json', 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name.replace(/^@[^/]+\//, '') : undefined;
  } catch {
    return undefined;
  }
}
