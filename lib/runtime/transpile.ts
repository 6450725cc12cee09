/**
 * Component -> JavaScript glue + core modules, with jco.
 *
 * jco's `instantiation` mode with `wasiShim: false` generates glue whose every import comes from
 * an object the host passes in: nothing is granted by default. This runs in a worker thread
 * (see `compiler-worker.ts`): transpiling a 12 MB component takes 0.6-2 s of synchronous work.
 */
import { componentWit, transpile } from '@bytecodealliance/jco';

/** What one transpile produces. */
export interface Transpiled {
  /** The patched ES module source exporting `instantiate(getCoreModule, imports, instantiateCore)`. */
  glue: string;
  /** Core modules by the file name the glue asks for. */
  coreModules: Record<string, Uint8Array>;
}

/**
 * The world's exports as `componentWit` prints them. A component whose export has another type
 * would be lifted and lowered by glue that disagrees with the host's calls.
 */
export const EXPECTED_EXPORTS: Readonly<Record<string, string>> = {
  init: 'func(config: extension-config) -> result<_, string>',
  'get-schema': 'func() -> string',
  migrate: 'func(db-path: string) -> result<_, string>',
  'resolve-field': 'func(request: field-request) -> result<json, string>',
  'resolve-batch': 'func(requests: list<field-request>) -> list<result<json, string>>',
};

/**
 * jco 1.35's glue calls `_debugLog` ~170 times per call, and each reads `process.env`: about 27 µs
 * of a 45 µs call. The patch makes it a no-op. If a jco upgrade changes this text, the patch
 * fails loudly (and a test says so) rather than silently leaving the cost in.
 */
export const DEBUG_LOG_DEFINITION =
  'const _debugLog = (...args) => {\n    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }\n    console.debug(...args);\n  };';

/** Returns `glue` with jco's per-call debug logging removed; throws if the expected code is absent. */
export function patchGlue(glue: string): string {
  const first = glue.indexOf(DEBUG_LOG_DEFINITION);
  if (first === -1 || glue.indexOf(DEBUG_LOG_DEFINITION, first + 1) !== -1) {
    throw new Error(
      'jco glue patch: the generated code no longer contains exactly one `_debugLog` definition as ' +
        'jco 1.35 wrote it; jco was upgraded: update DEBUG_LOG_DEFINITION in lib/runtime/transpile.ts',
    );
  }
  return glue.replace(DEBUG_LOG_DEFINITION, 'const _debugLog = () => {};');
}

/** Transpiles `bytes` (already checked by `inspectComponent`). Throws with jco's message on failure. */
export async function transpileComponent(bytes: Uint8Array): Promise<Transpiled> {
  checkExports(await componentWit(bytes));
  const { files } = await transpile(bytes, {
    name: 'component',
    instantiation: 'sync',
    wasiShim: false,
    noTypescript: true,
    // Keep every core module a separate file: the host compiles each one once and shares it.
    base64Cutoff: 0,
  });
  const coreModules: Record<string, Uint8Array> = {};
  let glue: string | undefined;
  for (const [file, content] of Object.entries(files)) {
    if (file === 'component.js') glue = new TextDecoder().decode(content);
    else if (file.endsWith('.wasm')) coreModules[file] = content;
  }
  if (glue === undefined) throw new Error('jco produced no component.js');
  return { glue: patchGlue(glue), coreModules };
}

/** Compares the component's exported functions with the contract's; throws naming the first difference. */
function checkExports(wit: string): void {
  const found = new Map<string, string>();
  for (const match of wit.matchAll(/^\s*export\s+([a-z][a-z0-9-]*)\s*:\s*(func[^;]*);/gm)) {
    found.set(match[1]!, match[2]!.replace(/\s+/g, ' ').trim());
  }
  for (const [name, type] of Object.entries(EXPECTED_EXPORTS)) {
    const actual = found.get(name);
    if (actual === undefined) throw new Error(`the component does not export \`${name}: ${type}\``);
    if (actual !== type) throw new Error(`export \`${name}\` has type \`${actual}\`; the contract says \`${type}\``);
  }
}
