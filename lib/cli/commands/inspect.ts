/** `forge-ext inspect <file.wasm>`: what is inside a component. */
import { componentWit } from '@bytecodealliance/jco';
import { inspectComponent, InvalidComponentError } from '../../runtime/component-check.js';
import { ExtensionLoadError } from '../../runtime/errors.js';
import { silentLogger } from '../../runtime/logger.js';
import type { Command } from '../cli.js';
import { inSandbox, parseConfig, readComponent } from '../sandbox.js';

export const inspect: Command = {
  usage: 'inspect <file.wasm> [--config <json>]',
  summary: "print a component's WIT world, contract version and SDL",
  help: `Prints the component's WIT world (its imports and exports), the forge:extension contract
version it was built against, and its GraphQL SDL (from get-schema, run in a throw-away
sandbox).

Options:
  --config <json>   configuration for init (an extension's SDL may depend on it)`,
  options: { config: { type: 'string' } },
  positionals: [1, 1],
  async run([file], options) {
    const bytes = await readComponent(file!);
    let contract: string;
    try {
      contract = inspectComponent(bytes).contractVersion;
    } catch (e) {
      if (!(e instanceof InvalidComponentError)) throw e;
      process.stderr.write(`✗ ${file} is not a loadable extension: ${e.message}\n`);
      return 1;
    }
    const wit = await componentWit(bytes);
    process.stdout.write(`# ${file}\ncontract: forge:extension@${contract}\nsize: ${bytes.length} bytes\n\n# WIT world\n${wit.trim()}\n\n# SDL\n`);
    try {
      const sdl = await inSandbox(file!, bytes, parseConfig(options['config'] as string | undefined), silentLogger, async (ext) => ext.sdl);
      process.stdout.write(`${sdl.trim()}\n`);
      return 0;
    } catch (e) {
      if (!(e instanceof ExtensionLoadError)) throw e;
      process.stdout.write('(unavailable)\n');
      process.stderr.write(`✗ ${file} failed at ${e.step}: ${e.reason}\n`);
      return 1;
    }
  },
};
