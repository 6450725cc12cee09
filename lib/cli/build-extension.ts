/**
 * JavaScript/TypeScript extension -> component: esbuild bundles the source (and the guest SDK)
 * into one ES module, componentize-js turns it into a `.wasm` for the `extension` world.
 * `forge-ext build` and the test fixtures both build through here.
 *
 * Reproducible builds: componentize-js pre-initializes the JS engine with Wizer and ships the
 * heap snapshot, and that heap differs on every run (measured: two runs on the same bundle give
 * different sizes and ~330,000 differing byte ranges, all in the data segments, with or without
 * the `random`/`clocks` features, with the temporary paths it embeds held fixed: the engine
 * seeds its hash tables from WASI random during Wizer's run, and componentize-js offers no way
 * to fix that). So the component is keyed by everything that determines it (the bundled module,
 * the WIT, the WASI features, the componentize-js version) and kept in `cacheDir`: the same
 * source and toolchain give the same bytes, and an unchanged rebuild rewrites nothing.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
  /** Called as each step starts: `bundle`, `componentize` (skipped when cached), `write`. */
  onStep?: (step: 'bundle' | 'componentize' | 'write') => void;
  /**
   * Where components are kept by build key (see the module comment); none: always componentize.
   * `forge-ext build` uses `node_modules/.cache/forge-ext` of the project. The newest
   * {@link CACHED_BUILDS} stay.
   */
  cacheDir?: string;
}

/** How many components a build cache keeps (each is ~12 MiB). */
export const CACHED_BUILDS = 8;

/**
 * Builds one extension. The entry either `export default defineExtension({...})` (the SDK) or
 * exports the contract's functions itself (`init`, `getSchema`, `migrate`, `resolveField`,
 * `resolveBatch`). Returns the component's size in bytes.
 */
export async function buildExtension({ entry, out, onStep, cacheDir }: BuildOptions): Promise<number> {
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

  const wit = await readFile(CONTRACT_WIT, 'utf8');
  const key = await buildKey(code, wit);
  let component: Uint8Array | undefined = cacheDir ? await readFile(join(cacheDir, `${key}.wasm`)).catch(() => undefined) : undefined;
  if (!component) {
    onStep?.('componentize');
    component = await componentizeModule(code, wit);
    // The cache only saves time: a cache that cannot be written (read-only node_modules) does
    // not fail the build.
    if (cacheDir) await storeCached(cacheDir, key, component).catch(() => undefined);
  }

  onStep?.('write');
  // Unchanged bytes are not rewritten: a watching host sees no change, so reloads nothing.
  const existing = await readFile(out).catch(() => undefined);
  if (!existing?.equals(component)) {
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, component);
      await rename(tmp, out);
    } catch (e) {
      // Not writable (permissions, read-only or full disk): a named error, no temporary file left.
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new BuildError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return component.length;
}

/** componentize-js on one bundled ES module. */
async function componentizeModule(code: Uint8Array, wit: string): Promise<Uint8Array> {
  const work = await mkdtemp(join(tmpdir(), 'forge-build-'));
  try {
    const sourcePath = join(work, 'extension.js');
    await writeFile(sourcePath, code);
    const { componentize } = await import('@bytecodealliance/componentize-js');
    // `witWorld` (the WIT as source) works at runtime but is missing from the published types.
    const options = { sourcePath, witWorld: wit, worldName: 'extension', disableFeatures: [...DISABLED_FEATURES] };
    return (await componentize(options)).component;
  } catch (e) {
    throw new BuildError(`componentize-js failed: ${(e as Error).message ?? e}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** sha256 of everything that determines a component: the module, the WIT, the features, the toolchain. */
async function buildKey(code: Uint8Array, wit: string): Promise<string> {
  const componentizeJs = fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js'));
  const { version } = JSON.parse(await readFile(join(dirname(componentizeJs), '..', 'package.json'), 'utf8')) as { version: string };
  const hash = createHash('sha256');
  for (const part of [`componentize-js@${version}`, DISABLED_FEATURES.join(','), wit]) hash.update(`${part.length}:${part}`);
  return hash.update(code).digest('hex');
}

/** Keeps `component` under `key`, and only the newest {@link CACHED_BUILDS} components. */
async function storeCached(cacheDir: string, key: string, component: Uint8Array): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `${key}.wasm.tmp-${process.pid}`);
  await writeFile(tmp, component);
  await rename(tmp, join(cacheDir, `${key}.wasm`));
  const entries = await Promise.all(
    (await readdir(cacheDir)).filter((f) => f.endsWith('.wasm')).map(async (f) => ({ f, mtime: (await stat(join(cacheDir, f))).mtimeMs })),
  );
  entries.sort((a, b) => b.mtime - a.mtime);
  await Promise.all(entries.slice(CACHED_BUILDS).map(({ f }) => rm(join(cacheDir, f), { force: true })));
}
