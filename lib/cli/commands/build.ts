/** `forge-ext build [entry]`: JavaScript/TypeScript extension -> `<name>.wasm`. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { assertExtensionName } from '../../data/names.js';
import { buildExtension, BuildError } from '../build-extension.js';
import { CliError, type Command } from '../cli.js';
import { progress } from '../progress.js';

const STEPS = { bundle: 'bundling with esbuild', componentize: 'componentizing (componentize-js takes a few seconds)', write: 'writing' };

export const build: Command = {
  usage: 'build [entry] [--out <file.wasm>] [--name <name>]',
  summary: 'bundle and componentize a JS/TS extension into <name>.wasm',
  help: `Bundles the entry module (default: src/index.ts, else src/index.js, else index.js) with its
imports and the guest SDK (esbuild), then turns it into a WebAssembly component for the
forge:extension@0.1.0 world (componentize-js).

Options:
  --out <file>    where to write the component (default: <name>.wasm); written atomically,
                  so a watching host reloads the complete file once
  --name <name>   the extension name (default: package.json "name", else the directory name)

A source error is reported with its file, line and column.`,
  options: { out: { type: 'string', short: 'o' }, name: { type: 'string' } },
  positionals: [0, 1],
  async run([entryArg], options) {
    const entry = entryArg ?? ['src/index.ts', 'src/index.js', 'index.ts', 'index.js'].find((f) => existsSync(f));
    if (!entry) throw new CliError('no entry module: pass one, or create src/index.ts', 2);
    if (!existsSync(entry)) throw new CliError(`entry module ${entry} does not exist`, 2);
    const name = (options['name'] as string | undefined) ?? packageName() ?? basename(process.cwd());
    try {
      assertExtensionName(name);
    } catch (e) {
      throw new CliError(`${(e as Error).message}; choose one with --name`, 2);
    }
    const out = resolve((options['out'] as string | undefined) ?? `${name}.wasm`);
    const bar = progress();
    try {
      const bytes = await buildExtension({ entry, out, onStep: (step) => bar.step(STEPS[step]) });
      bar.done(`built ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
      return 0;
    } catch (e) {
      bar.fail();
      if (e instanceof BuildError) throw new CliError(`build failed: ${e.message}`);
      throw e;
    }
  },
};

/** The unscoped name in ./package.json, if any. */
function packageName(): string | undefined {
  try {
    const name = (JSON.parse(readFileSync('package.json', 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name.replace(/^@[^/]+\//, '') : undefined;
  } catch {
    return undefined;
  }
}
