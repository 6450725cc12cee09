/**
 * What `forge-ext build` checks in the source before it bundles, so a mistake fails the build
 * at its `file:line:column` instead of surfacing at query time:
 *
 * - types: the TypeScript compiler API with the project's `tsconfig.json` (found as `tsc`
 *   finds it, upwards from the entry); `forge-extensions/guest` resolves to the SDK the build
 *   bundles. A `.js` entry without a tsconfig is not type-checked.
 * - the SDL of every call of the SDK's `defineExtension` (found by symbol, so also under another
 *   import name) when the source determines it (a literal, a `const`, a template of those and
 *   `sql()` calls: static-sdl.ts): parsed and validated as a host composes it, the SQL
 *   resolvers' rules that need no database, positions mapped into the file (exactly, escapes
 *   and CRLF included: literal-offsets.ts).
 * - every key of `resolvers` against that SDL (an object literal, a `const` holding one, spreads
 *   of those; a key that names no field names the nearest one; a key for a field with `@sql`
 *   would never run).
 *
 * What is computed at run time (a schema that is a function of the config, resolvers a call
 * returns) is noted, never skipped silently: `forge-ext check` checks it on the built component.
 */
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as TS from 'typescript';
import { parse, type FieldDefinitionNode } from 'graphql';
import { SqlFieldError, sqlFieldsOf } from '../runtime/sql-fields.js';
import { composeSchema } from '../schema/compose.js';
import { resolverKeyProblem, sdlFields, type SdlFields } from './resolver-keys.js';
import { constValue, isGuestFunction, staticSdl } from './static-sdl.js';

/** The guest SDK's declarations: the types of exactly what the build bundles. */
const GUEST_SDK_TYPES = fileURLToPath(new URL('../guest/index.d.ts', import.meta.url));

/** One mistake in the source, 1-based line and column. */
export interface SourceProblem {
  file: string;
  line: number;
  column: number;
  message: string;
  /** Not a mistake: something the build could not check (printed, the build goes on). */
  note?: true;
}

/** `path:line:column: message`, the path relative to the working directory (as `tsc` and esbuild print it). */
export function formatProblem(p: SourceProblem): string {
  return `${relative(process.cwd(), p.file) || p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** Every problem found in `entry` (extension `name`), in file order; [] when there is none. */
export async function checkSource(entry: string, name: string): Promise<SourceProblem[]> {
  const entryPath = resolve(entry);
  const ts = await loadTypeScript(entryPath);
  const configPath = ts.findConfigFile(dirname(entryPath), ts.sys.fileExists);
  const typed = configPath !== undefined || /\.[cm]?tsx?$/.test(entryPath);
  const { options, rootNames, problems } = configPath ? readConfig(ts, configPath, entryPath) : { options: defaultOptions(ts), rootNames: [entryPath], problems: [] as SourceProblem[] };
  if (problems.length > 0) return problems; // the tsconfig itself is wrong
  options.noEmit = true;
  options.paths = { ...options.paths, 'forge-extensions/guest': [GUEST_SDK_TYPES] };
  const program = ts.createProgram({ rootNames, options });
  if (typed) {
    for (const d of ts.getPreEmitDiagnostics(program)) {
      if (d.category !== ts.DiagnosticCategory.Error) continue;
      const message = `error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      if (d.file && d.start !== undefined) problems.push({ file: d.file.fileName, ...position(ts, d.file, d.start), message });
      else problems.push({ file: configPath ?? entryPath, line: 1, column: 1, message });
    }
  }
  const source = program.getSourceFile(entryPath);
  if (source) problems.push(...definitionProblems(ts, source, program.getTypeChecker(), name));
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/** The project's TypeScript when it has one (the version its editor uses), else this package's. */
async function loadTypeScript(entryPath: string): Promise<typeof TS> {
  let path: string;
  try {
    path = createRequire(entryPath).resolve('typescript');
  } catch {
    path = createRequire(import.meta.url).resolve('typescript');
  }
  const module = (await import(pathToFileURL(path).href)) as { default: typeof TS };
  return module.default;
}

function readConfig(ts: typeof TS, configPath: string, entryPath: string) {
  const problems: SourceProblem[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => problems.push({ file: configPath, line: 1, column: 1, message: ts.flattenDiagnosticMessageText(d.messageText, ' ') }),
  });
  if (!parsed) return { options: defaultOptions(ts), rootNames: [entryPath], problems };
  // A tsconfig with errors (bad JSON, unknown option) is the problem to report, not the
  // confusing type errors its half-read options give.
  for (const d of ts.getConfigFileParsingDiagnostics(parsed)) {
    // 18003 "no inputs were found": the entry is checked anyway.
    if (d.category !== ts.DiagnosticCategory.Error || d.code === 18003) continue;
    const at = d.file && d.start !== undefined ? position(ts, d.file, d.start) : { line: 1, column: 1 };
    problems.push({ file: d.file?.fileName ?? configPath, ...at, message: `error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}` });
  }
  const rootNames = parsed.fileNames.includes(entryPath) ? parsed.fileNames : [...parsed.fileNames, entryPath];
  return { options: parsed.options, rootNames, problems };
}

/** What `forge-ext new` writes into a scaffold's tsconfig. */
function defaultOptions(ts: typeof TS): TS.CompilerOptions {
  return { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, allowJs: true };
}

function position(ts: typeof TS, file: TS.SourceFile, offset: number): { line: number; column: number } {
  const { line, character } = ts.getLineAndCharacterOfPosition(file, offset);
  return { line: line + 1, column: character + 1 };
}

/** Said where the build cannot check something, so that a silent build is not taken for a checked one. */
const COMPUTED = (what: string) => `note: ${what}; \`forge-ext check <file.wasm>\` does`;

/** The SDL and the resolver keys of every call of the guest SDK's `defineExtension` (under any name) in `source`. */
function definitionProblems(ts: typeof TS, source: TS.SourceFile, checker: TS.TypeChecker, name: string): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const at = (node: TS.Node, offset: number, message: string, note?: true) =>
    problems.push({ file: node.getSourceFile().fileName, ...position(ts, node.getSourceFile(), offset), message, ...(note && { note }) });
  const noted = (node: TS.Node, what: string): void => void at(node, node.getStart(), COMPUTED(what), true);

  const checkDefinition = (call: TS.CallExpression): void => {
    const definition = constValue(ts, call.arguments[0], checker, new Set());
    if (!definition || !ts.isObjectLiteralExpression(definition)) return noted(call.arguments[0] ?? call, 'the definition is computed when the extension runs, so the build cannot check its schema or resolver keys');
    /** The expression of property `key`; the property itself when it is a method or getter (computed). */
    const property = (key: string): TS.Node | undefined => {
      const p = definition.properties.find((p) => p.name !== undefined && !ts.isComputedPropertyName(p.name) && p.name.getText() === key);
      if (p && ts.isPropertyAssignment(p)) return p.initializer;
      if (p && ts.isShorthandPropertyAssignment(p)) return p.name;
      return p ?? definition.properties.find(ts.isSpreadAssignment);
    };
    const schema = property('schema');
    const sdl = schema && ts.isExpression(schema) ? staticSdl(ts, schema, checker) : undefined;
    if (!sdl) {
      if (schema) noted(schema, 'the schema is computed when the extension runs, so the build cannot check it or the resolver keys');
      return;
    }
    const report = (offsetInSdl: number, message: string) => {
      const { file, offset, exact } = sdl.locate(offsetInSdl);
      at(file, offset, exact ? message : `${message} (somewhere in the literal that starts here: an escape in it hides the exact place)`);
    };
    const { rejected } = composeSchema(undefined, [{ name, sdl: sdl.text, namespace: 'prefix' }]);
    if (rejected.length > 0) {
      const message = rejected[0]!.error.message.replace(/^extension "[^"]+": /, '');
      const located = / \(SDL line (\d+), column (\d+)\)$/.exec(message);
      report(located ? sdlOffset(sdl.text, Number(located[1]), Number(located[2])) : 0, located ? message.slice(0, located.index) : message);
      return;
    }
    // The SQL resolvers' rules that need no database (the statements are checked at load).
    try {
      sqlFieldsOf(sdl.text);
    } catch (e) {
      if (!(e instanceof SqlFieldError)) throw e;
      report(fieldOffset(sdl.text, e.message), e.message);
      return;
    }
    const resolvers = property('resolvers');
    if (resolvers) checkResolvers(resolvers, sdlFields(sdl.text), new Set());
  };

  /** The keys of a resolvers object (through consts and spreads of consts) against the SDL's fields. */
  const checkResolvers = (node: TS.Node, fields: SdlFields, seen: Set<TS.Node>): void => {
    const resolvers = ts.isExpression(node) ? constValue(ts, node, checker, seen) : undefined;
    if (!resolvers || !ts.isObjectLiteralExpression(resolvers)) return noted(node, 'the resolvers are computed when the extension runs, so the build cannot check their keys');
    for (const p of resolvers.properties) {
      if (ts.isSpreadAssignment(p)) {
        checkResolvers(p.expression, fields, seen);
        continue;
      }
      if (!p.name || ts.isPrivateIdentifier(p.name)) continue;
      const key = ts.isComputedPropertyName(p.name) ? staticSdl(ts, p.name.expression, checker)?.text : p.name.text;
      if (key === undefined) {
        noted(p.name, 'this resolver key is computed when the extension runs, so the build cannot check it');
        continue;
      }
      const problem = resolverKeyProblem(key, fields);
      if (problem) at(p.name, p.name.getStart(), problem);
    }
  };

  const visit = (node: TS.Node): void => {
    if (ts.isCallExpression(node) && isGuestFunction(ts, node.expression, checker, 'defineExtension')) return checkDefinition(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return problems;
}

/** The offset in `sdl` of its 1-based `line` and `column`, lines ended as GraphQL ends them (CRLF, LF or CR). */
function sdlOffset(sdl: string, line: number, column: number): number {
  const lineStarts = [0];
  for (const m of sdl.matchAll(/\r\n|[\n\r]/g)) lineStarts.push(m.index + m[0].length);
  return (lineStarts[line - 1] ?? 0) + column - 1;
}

/** The offset in `sdl` of the field a {@link SqlFieldError} names (`Type.field @sql: ...`); 0 if not found. */
function fieldOffset(sdl: string, message: string): number {
  const [type, field] = /^(\w+)\.(\w+) /.exec(message)?.slice(1) ?? [];
  for (const definition of parse(sdl).definitions) {
    if ('fields' in definition && 'name' in definition && definition.name?.value === type) {
      const node = (definition.fields as readonly FieldDefinitionNode[] | undefined)?.find((f) => f.name.value === field);
      if (node?.loc) return node.loc.start;
    }
  }
  return 0;
}
