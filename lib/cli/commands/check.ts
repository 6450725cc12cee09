/** `forge-ext check <file.wasm>`: would a host accept this extension? */
import { readFile } from 'node:fs/promises';
import { buildSchema } from 'graphql';
import { EXTENSION_NAME_PATTERN, extensionNameFromFile } from '../../data/names.js';
import { inspectComponent, InvalidComponentError } from '../../runtime/component-check.js';
import { ExtensionLoadError } from '../../runtime/errors.js';
import type { Extension } from '../../runtime/extension.js';
import { silentLogger } from '../../runtime/logger.js';
import { composeSchema } from '../../schema/compose.js';
import { typePrefix } from '../../schema/namespace.js';
import { EXPECTED_EXPORTS } from '../../runtime/transpile.js';
import { SDK_METADATA_TYPE, SDK_RESOLVER_KEYS_FIELD } from '../../guest/metadata.js';
import { CliError, type Command } from '../cli.js';
import { resolverKeyProblem, sdlFields } from '../resolver-keys.js';
import { inSandbox, parseConfig, readComponent } from '../sandbox.js';

export const check: Command = {
  usage: 'check <file.wasm> [--config <json>] [--schema <app.graphql>]',
  summary: 'load an extension in a throw-away sandbox and validate it',
  help: `Loads the component as a host would (deny-by-default WASI; in a worker thread, where a host
runs it in its own process by default: the checks are the same) with a temporary
database: validates the binary and its imports, runs init, migrate and get-schema, validates
the SDL, checks its SQL resolvers (@sql) against the migrated database and, for an extension
built with the guest SDK, matches every resolver key against it (a key must name a field, and
not one with @sql). Prints its imports, exports and schema; exits 1 with the precise problem.

Options:
  --config <json>         configuration for init, as the host's extensions.<name>.config
  --schema <file>         the application's base schema (SDL), for extensions that extend
                          its types (extend type Repository ...)`,
  options: { config: { type: 'string' }, schema: { type: 'string' } },
  positionals: [1, 1],
  async run([file], options) {
    const bytes = await readComponent(file!);
    const config = parseConfig(options['config'] as string | undefined);
    const base = options['schema'] ? await loadBaseSchema(options['schema'] as string) : undefined;
    let imports: string[];
    try {
      imports = inspectComponent(bytes).imports;
    } catch (e) {
      if (e instanceof InvalidComponentError) return fail(file!, `failed at validate: ${e.message}`);
      throw e;
    }
    const name = extensionNameFromFile(file!);
    const warnings = EXTENSION_NAME_PATTERN.test(name) ? [] : [`the file name "${name}" is not a valid extension name (${EXTENSION_NAME_PATTERN}): rename the file before deploying it`];
    try {
      return await inSandbox(file!, bytes, config, silentLogger, async (ext) => {
        const { rejected, accepted } = composeSchema(base, [{ name: ext.name, sdl: ext.sdl, namespace: 'prefix' }]);
        if (rejected.length > 0) {
          const message = rejected[0]!.error.message.replace(/^extension "[^"]+": /, '');
          const hint = /Cannot extend type/.test(message) && !base ? ' (pass the application schema with --schema)' : '';
          return fail(file!, `failed at compose: ${message}${hint}`);
        }
        const fields = sdlFields(ext.sdl);
        const keyProblems = (await sdkResolverKeys(ext)).map((key) => resolverKeyProblem(key, fields)).filter((p) => p !== undefined);
        if (keyProblems.length > 0) return fail(file!, `failed at resolvers: ${keyProblems.join('; ')}`);
        const composed = accepted[0]!;
        const own = [...composed.ownTypes].map(([local, global]) => `${local} (${global})`);
        const added = [...composed.addedFields].map(([type, fields]) => `${type}: ${fields.join(', ')}`);
        process.stdout.write(
          `✓ ${file} is a valid extension\n` +
            `  name      ${ext.name}\n` +
            `  version   ${ext.version}\n` +
            `  contract  forge:extension@${ext.contractVersion}\n` +
            `  imports   ${imports.join(', ')}\n` +
            `  exports   ${Object.keys(EXPECTED_EXPORTS).join(', ')}\n` +
            `  types     ${own.join(', ') || '(none)'}   [prefix ${typePrefix(ext.name)}]\n` +
            `  fields    ${added.join('; ') || '(none)'}\n` +
            warnings.map((w) => `  warning   ${w}\n`).join(''),
        );
        return 0;
      });
    } catch (e) {
      if (e instanceof ExtensionLoadError) return fail(file!, `failed at ${e.step}: ${e.reason}`);
      throw e;
    }
  },
};

/** The resolver keys an SDK-built extension declares (see guest/metadata.ts); [] for a raw-contract one. */
async function sdkResolverKeys(ext: Extension): Promise<string[]> {
  try {
    const keys = await ext.resolveField({ typeName: SDK_METADATA_TYPE, fieldName: SDK_RESOLVER_KEYS_FIELD });
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return []; // not built with the SDK (or an older one): nothing to match
  }
}

function fail(file: string, message: string): number {
  process.stderr.write(`✗ ${file} ${message}\n`);
  return 1;
}

async function loadBaseSchema(file: string) {
  try {
    return buildSchema(await readFile(file, 'utf8'));
  } catch (e) {
    throw new CliError(`--schema ${file}: ${(e as Error).message}`, 2);
  }
}
