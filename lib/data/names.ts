/**
 * Extension names and the database paths derived from them.
 *
 * A name comes from a file name (`issues.wasm` -> `issues`) and ends up in a file path
 * (`<dataDir>/forge_ext_issues.db`), so it is checked against a pattern that cannot express
 * a path separator, `..`, or anything a shell or filesystem treats specially.
 */
import { basename, join, resolve } from 'node:path';

/** What an extension name must look like: lower-case, starts with a letter, at most 64 chars. */
export const EXTENSION_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

/** Throws a `TypeError` that says why `name` is not a valid extension name. */
export function assertExtensionName(name: string): void {
  if (!EXTENSION_NAME_PATTERN.test(name)) {
    throw new TypeError(
      `invalid extension name ${JSON.stringify(name)}: a name must match ${EXTENSION_NAME_PATTERN} ` +
        `(lower-case letters, digits, "_" or "-", starting with a letter, at most 64 characters)`,
    );
  }
}

/** The extension name a `.wasm` file stands for: its base name without `.wasm` (not yet validated). */
export function extensionNameFromFile(file: string): string {
  return basename(file).replace(/\.wasm$/i, '');
}

/** The absolute path of the SQLite file of extension `name` under `dataDir`. */
export function databasePath(dataDir: string, name: string): string {
  assertExtensionName(name);
  return join(resolve(dataDir), `forge_ext_${name}.db`);
}
