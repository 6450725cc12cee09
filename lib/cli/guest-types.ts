/**
 * TypeScript declarations for the contract's imports and exports, generated from
 * `wit/extension.wit` by jco. The guest SDK is type-checked against them (they are committed
 * in `lib/guest/wit-types/`, and a test regenerates them to prove they match the WIT), and
 * `forge-ext types` writes them for authors who use the raw contract.
 */
import { fileURLToPath } from 'node:url';

/** The contract's WIT file inside this package. */
export const CONTRACT_WIT = fileURLToPath(new URL('../../../wit/extension.wit', import.meta.url));

/** File name -> declaration text, for the `extension` world of `witFile`. */
export async function generateGuestTypes(witFile = CONTRACT_WIT): Promise<Record<string, string>> {
  // jco reads the WIT through its own WASI filesystem, which sees nothing until it is given a
  // preopen. This is build tooling; the runtime never loads preview2-shim.
  const { _setPreopens } = (await import('@bytecodealliance/preview2-shim/filesystem')) as { _setPreopens(p: Record<string, string>): void };
  _setPreopens({ '/': '/' });
  const { types } = await import('@bytecodealliance/jco');
  const files = await types(witFile, { guest: true, worldName: 'extension' } as Parameters<typeof types>[1]);
  const decoder = new TextDecoder();
  return Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, decoder.decode(bytes as Uint8Array)]));
}
