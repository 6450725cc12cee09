/**
 * TypeScript declarations for the contract's imports and exports, generated from
 * `wit/extension.wit` by jco. The guest SDK is type-checked against them (they are committed
 * in `lib/guest/wit-types/`, and a test regenerates them to prove they match the WIT), and
 * `forge-ext types` writes them for authors who use the raw contract.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The contract's WIT file inside this package. */
export const CONTRACT_WIT = fileURLToPath(new URL('../../../wit/extension.wit', import.meta.url));

/** File name -> declaration text, for the `extension` world of `witFile`. */
export async function generateGuestTypes(witFile = CONTRACT_WIT): Promise<Record<string, string>> {
  // jco reads the WIT through its own WASI filesystem, which sees nothing until it is given a
  // preopen. The preopen must go to the very copy of preview2-shim that jco loads: an installed
  // tree may hold several (jco-std wants ^0.25, jco ^0.26), and setting it on another copy
  // leaves jco blind (`No such file or directory (os error 44)`). So resolve it the way jco's
  // WIT reader (in jco-transpile) does. Build tooling only; the runtime never loads preview2-shim.
  const jco = fileURLToPath(import.meta.resolve('@bytecodealliance/jco'));
  const jcoTranspile = createRequire(jco).resolve('@bytecodealliance/jco-transpile');
  const shim = pathToFileURL(createRequire(jcoTranspile).resolve('@bytecodealliance/preview2-shim/filesystem')).href;
  const { _setPreopens } = (await import(shim)) as { _setPreopens(p: Record<string, string>): void };
  _setPreopens({ '/': '/' });
  const { types } = await import('@bytecodealliance/jco');
  const files = await types(witFile, { guest: true, worldName: 'extension' } as Parameters<typeof types>[1]);
  const decoder = new TextDecoder();
  return Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, decoder.decode(bytes as Uint8Array)]));
}
