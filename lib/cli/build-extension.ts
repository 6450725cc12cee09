/**
 * JavaScript/TypeScript extension -> component: esbuild bundles the source (and the guest SDK)
 * into one ES module, componentize-js turns it into a `.wasm` for the `extension` world.
 * `forge-ext build` and the test fixtures both build through here.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTRACT_WIT } from './guest-types.js';

/** The guest SDK, compiled: bundled into every extension that imports `forge-extensions/guest`. */
const GUEST_SDK = fileURLToPath(new URL('../guest/index.js', import.meta.url));

/**
 * WASI features left out of every build: no stdio (use the SDK's `log`), no HTTP (the host
 * would refuse a component importing wasi:http). Clocks and randomness remain.
 */
export const DISABLED_FEATURES = ['stdio', 'http', 'fetch-event'] as const;

/** A build failed; `location` is `file:line:column` when the source is at fault. */
export class BuildError extends Error {
  override name = 'BuildError';
  constructor(
    message: string,
    readonly location?: string,
  ) {
    super(location ? `${location}: ${message}` : message);
  }
}

export interface BuildOptions {
  /** The extension's entry module (TypeScript or JavaScript). */
  entry: string;
  /** Where the component goes (written atomically: a watching host sees one complete file). */
  out: string;
  /** Called as each step starts: `bundle`, `componentize`, `write`. */
  onStep?: (step: 'bundle' | 'componentize' | 'write') => void;
}

/**
 * Builds one extension. The entry either `export default defineExtension({...})` (the SDK) or
 * exports the contract's functions itself (`init`, `getSchema`, `migrate`, `resolveField`,
 * `resolveBatch`). Returns the component's size in bytes.
 */
export async function buildExtension({ entry, out, onStep }: BuildOptions): Promise<number> {
  const entryPath = resolve(entry);
  onStep?.('bundle');
  const { build } = await import('esbuild');
  const result = await build({
    stdin: {
      // Either shape of entry module ends up as the named exports componentize-js looks for.
      contents: `import * as entry from ${JSON.stringify(entryPath)};
const ext = entry.default ?? entry;
export const init = (c) => ext.init(c);
export const getSchema = () => ext.getSchema();
export const migrate = (p) => ext.migrate(p);
export const resolveField = (r) => ext.resolveField(r);
export const resolveBatch = (r) => ext.resolveBatch(r);
`,
      resolveDir: dirname(entryPath),
      sourcefile: 'forge-entry.js',
      loader: 'js',
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    external: ['forge:extension/*'],
    alias: { 'forge-extensions/guest': GUEST_SDK },
    logLevel: 'silent',
  }).catch((e: { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }) => {
    const first = e.errors?.[0];
    if (!first) throw new BuildError(String((e as Error).message ?? e));
    const loc = first.location;
    // esbuild reports paths relative to the working directory, columns from 0.
    throw new BuildError(first.text, loc ? `${loc.file}:${loc.line}:${loc.column + 1}` : undefined);
  });
  const code = result.outputFiles[0]!.contents;

  onStep?.('componentize');
  const work = await mkdtemp(join(tmpdir(), 'forge-build-'));
  let component: Uint8Array;
  try {
    const sourcePath = join(work, 'extension.js');
    await writeFile(sourcePath, code);
    const { componentize } = await import('@bytecodealliance/componentize-js');
    // `witWorld` (the WIT as source) works at runtime but is missing from the published types.
    const options = {
      sourcePath,
      witWorld: await readFile(CONTRACT_WIT, 'utf8'),
      worldName: 'extension',
      disableFeatures: [...DISABLED_FEATURES],
    };
    ({ component } = await componentize(options));
  } catch (e) {
    throw new BuildError(`componentize-js failed: ${(e as Error).message ?? e}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  onStep?.('write');
  const tmp = `${out}.tmp-${process.pid}`;
  await writeFile(tmp, component);
  await rename(tmp, out);
  return component.length;
}
