/** `forge-ext types [dir]`: TypeScript declarations of the contract, for raw (SDK-less) guests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from '../cli.js';
import { generateGuestTypes } from '../guest-types.js';

export const types: Command = {
  usage: 'types [dir]',
  summary: "write the contract's TypeScript declarations (for guests without the SDK)",
  help: `Writes .d.ts files declaring the modules 'forge:extension/database@0.1.0',
'forge:extension/log@0.1.0' and 'forge:extension/types@0.1.0' and the world's exports, generated
from wit/extension.wit by jco. Default directory: ./wit-types. (The guest SDK needs none of it.)`,
  options: {},
  positionals: [0, 1],
  async run([dir = 'wit-types']) {
    const files = await generateGuestTypes();
    for (const [name, text] of Object.entries(files)) {
      const path = join(resolve(dir), name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      process.stdout.write(`${path}\n`);
    }
    return 0;
  },
};
