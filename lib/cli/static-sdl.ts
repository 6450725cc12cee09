/**
 * The SDL of `defineExtension({ schema: ... })` when the source alone determines it, and where
 * each of its characters sits in the source, so that `forge-ext build` reports an SDL mistake at
 * its `file:line:column`.
 *
 * Determined: a string literal or a template without substitutions; a call of the guest SDK's
 * `sql()` with determined arguments (evaluated with the SDK's own function, so the SDL checked
 * is the one the extension serves); a template whose substitutions are determined; a `const`
 * holding any of these. Anything else (a function of the config, a `let`, another call, a
 * const that refers to itself) is computed when the extension runs: undefined.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import { sql, type SqlOptions } from '../guest/sql.js';
import { literalOffsets } from './literal-offsets.js';

/** The declarations of the guest SDK's functions, as the source checks resolve `forge-extensions/guest`. */
const GUEST_TYPES = {
  sql: resolve(fileURLToPath(new URL('../guest/sql.d.ts', import.meta.url))),
  defineExtension: resolve(fileURLToPath(new URL('../guest/index.d.ts', import.meta.url))),
};

/** A run of the SDL and where it comes from. */
interface Piece {
  /** Its offset in the SDL. */
  at: number;
  text: string;
  file: TS.SourceFile;
  /** The source offset of each of its characters (and one past the end), when known exactly. */
  offsets?: number[];
  /** Else the source offset of what produced it (a `sql()` call, or the literal's opening quote). */
  source: number;
  /** False when `offsets` is missing for a literal (an escape the mapping does not know): its start stands for the exact place. */
  exact: boolean;
}

/** An SDL the source determines. */
export interface StaticSdl {
  text: string;
  /**
   * The source file and offset of the SDL's character at `offset`: exact where the source holds
   * it (escapes and line endings accounted for), the start of the `sql()` call it comes from, or
   * (`exact: false`) the start of its literal when the literal has an escape the mapping does not know.
   */
  locate(offset: number): { file: TS.SourceFile; offset: number; exact: boolean };
}

/** The SDL `node` evaluates to, if the source determines it. */
export function staticSdl(ts: typeof TS, node: TS.Expression | undefined, checker: TS.TypeChecker): StaticSdl | undefined {
  const pieces = evaluate(ts, node, checker, new Set());
  if (!pieces || pieces.length === 0) return undefined;
  let at = 0;
  for (const piece of pieces) {
    piece.at = at;
    at += piece.text.length;
  }
  return {
    text: pieces.map((p) => p.text).join(''),
    locate(offset) {
      const piece = [...pieces].reverse().find((p) => p.at <= offset) ?? pieces[0]!;
      const source = piece.offsets ? piece.offsets[Math.min(offset - piece.at, piece.text.length)]! : piece.source;
      return { file: piece.file, offset: source, exact: piece.exact };
    },
  };
}

/**
 * The expression a `const` named by `node` holds (through parentheses, `as` and `satisfies`,
 * and chains of consts), or `node` itself when it names none. `seen` holds the declarations
 * followed so far: a const that refers to itself (TypeScript's TS2448) gives undefined instead
 * of endless recursion.
 */
export function constValue(ts: typeof TS, node: TS.Expression | undefined, checker: TS.TypeChecker, seen: Set<TS.Node>): TS.Expression | undefined {
  for (;;) {
    while (node && (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node))) node = node.expression;
    if (!node || !ts.isIdentifier(node)) return node;
    const declaration = checker.getSymbolAtLocation(node)?.valueDeclaration;
    if (!declaration || !ts.isVariableDeclaration(declaration) || !(ts.getCombinedNodeFlags(declaration) & ts.NodeFlags.Const)) return node;
    if (seen.has(declaration)) return undefined;
    seen.add(declaration);
    node = declaration.initializer;
  }
}

function evaluate(ts: typeof TS, expression: TS.Expression | undefined, checker: TS.TypeChecker, seen: Set<TS.Node>): Piece[] | undefined {
  const node = constValue(ts, expression, checker, seen);
  if (!node) return undefined;
  const file = node.getSourceFile();
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [literal(ts, node, node.text, file, 1)];
  if (ts.isTemplateExpression(node)) {
    const pieces = [literal(ts, node.head, node.head.text, file, 2)];
    for (const span of node.templateSpans) {
      // Each substitution follows its own consts: one const used twice is no cycle.
      const value = evaluate(ts, span.expression, checker, new Set(seen));
      if (!value) return undefined;
      pieces.push(...value, literal(ts, span.literal, span.literal.text, file, ts.isTemplateTail(span.literal) ? 1 : 2));
    }
    return pieces;
  }
  return sqlCall(ts, node, checker, seen);
}

/** A literal part: its text sits between one opening character and `closing` closing ones (`"`, `` ` ``, `}`, `${`). */
function literal(ts: typeof TS, node: TS.Node, text: string, file: TS.SourceFile, closing: number): Piece {
  const start = node.getStart(file) + 1;
  const offsets = literalOffsets(file.text.slice(start, node.end - closing), text, !ts.isStringLiteral(node));
  return { at: 0, text, file, offsets: offsets?.map((o) => start + o), source: start - 1, exact: offsets !== undefined };
}

/** A call of the guest SDK's `sql()` with determined arguments, evaluated. */
function sqlCall(ts: typeof TS, node: TS.Expression, checker: TS.TypeChecker, seen: Set<TS.Node>): Piece[] | undefined {
  if (!ts.isCallExpression(node) || !isGuestFunction(ts, node.expression, checker, 'sql')) return undefined;
  const [queryArg, optionsArg, ...rest] = node.arguments;
  if (rest.length > 0) return undefined;
  const text = (e: TS.Expression | undefined) => evaluate(ts, e, checker, new Set(seen))?.map((p) => p.text).join('');
  const query = text(queryArg);
  if (query === undefined) return undefined;
  const options: { -readonly [K in keyof SqlOptions]: SqlOptions[K] } = {};
  const optionsNode = constValue(ts, optionsArg, checker, new Set(seen));
  if (optionsArg) {
    if (!optionsNode || !ts.isObjectLiteralExpression(optionsNode)) return undefined;
    for (const p of optionsNode.properties) {
      if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return undefined;
      const name = p.name.text;
      if (name === 'key' || name === 'parentKey') {
        const value = text(p.initializer);
        if (value === undefined) return undefined;
        options[name] = value;
      } else if (name === 'json') {
        const list = constValue(ts, p.initializer, checker, new Set(seen));
        if (!list || !ts.isArrayLiteralExpression(list)) return undefined;
        const values = list.elements.map((e) => text(e));
        if (values.some((v) => v === undefined)) return undefined;
        options.json = values as string[];
      } else return undefined;
    }
  }
  let directive: string;
  try {
    directive = sql(query, options);
  } catch {
    return undefined; // it throws when the extension runs too: get-schema reports it
  }
  return [{ at: 0, text: directive, file: node.getSourceFile(), source: node.getStart(), exact: true }];
}

/**
 * Whether `callee` is the guest SDK's function `name` (`sql` or `defineExtension`), imported
 * under any name or through a namespace import: the symbol decides, not the spelling.
 */
export function isGuestFunction(ts: typeof TS, callee: TS.Expression, checker: TS.TypeChecker, name: keyof typeof GUEST_TYPES): boolean {
  const identifier = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
  let symbol = checker.getSymbolAtLocation(identifier);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const declaration = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
  return declaration !== undefined && symbol!.name === name && resolve(declaration.getSourceFile().fileName) === GUEST_TYPES[name];
}
