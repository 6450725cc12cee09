/**
 * The SDL of `defineExtension({ schema: ... })` when the source alone determines it, and where
 * each of its characters sits in the source, so that `forge-ext build` reports an SDL mistake at
 * its `file:line:column`.
 *
 * Determined: a string literal or a template without substitutions; a `const` holding one; a
 * template whose substitutions are themselves determined, or calls of the guest SDK's `sql()`
 * with determined arguments (evaluated with the SDK's own function, so the SDL checked is the
 * one the extension serves). Anything else (a function of the config, a `let`, another call)
 * is computed when the extension runs: undefined.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import { sql, type SqlOptions } from '../guest/sql.js';

/** The declarations of the guest SDK's `sql()`, as the source checks resolve `forge-extensions/guest`. */
const GUEST_SQL_TYPES = resolve(fileURLToPath(new URL('../guest/sql.d.ts', import.meta.url)));

/** A run of the SDL and where it comes from. */
interface Piece {
  /** Its offset in the SDL. */
  at: number;
  text: string;
  file: TS.SourceFile;
  /** The source offset of its first character when it is copied verbatim (no escapes), else of the expression or quote it comes from. */
  source: number;
  verbatim: boolean;
}

/** An SDL the source determines. */
export interface StaticSdl {
  text: string;
  /** The source file and offset of the SDL's character at `offset`: exact where the source holds it verbatim, else the start of what produced it. */
  locate(offset: number): { file: TS.SourceFile; offset: number };
}

/** The SDL `node` evaluates to, if the source determines it. */
export function staticSdl(ts: typeof TS, node: TS.Expression | undefined, checker: TS.TypeChecker): StaticSdl | undefined {
  const pieces = evaluate(ts, node, checker);
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
      return { file: piece.file, offset: piece.verbatim ? piece.source + Math.min(offset - piece.at, piece.text.length) : piece.source };
    },
  };
}

function evaluate(ts: typeof TS, node: TS.Expression | undefined, checker: TS.TypeChecker): Piece[] | undefined {
  while (node && (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node))) node = node.expression;
  if (!node) return undefined;
  const file = node.getSourceFile();
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [literal(node, node.text, file, 1)];
  if (ts.isTemplateExpression(node)) {
    const pieces = [literal(node.head, node.head.text, file, 2)];
    for (const span of node.templateSpans) {
      const value = evaluate(ts, span.expression, checker) ?? sqlCall(ts, span.expression, checker);
      if (!value) return undefined;
      pieces.push(...value, literal(span.literal, span.literal.text, file, ts.isTemplateTail(span.literal) ? 1 : 2));
    }
    return pieces;
  }
  if (ts.isIdentifier(node)) {
    const declaration = checker.getSymbolAtLocation(node)?.valueDeclaration;
    if (declaration && ts.isVariableDeclaration(declaration) && ts.getCombinedNodeFlags(declaration) & ts.NodeFlags.Const) return evaluate(ts, declaration.initializer, checker);
  }
  return undefined;
}

/** A literal part: its text sits between one opening character and `closing` closing ones (`"`, `` ` ``, `}`, `${`). */
function literal(node: TS.Node, text: string, file: TS.SourceFile, closing: number): Piece {
  const start = node.getStart(file) + 1;
  const raw = file.text.slice(start, node.end - closing);
  return raw === text ? { at: 0, text, file, source: start, verbatim: true } : { at: 0, text, file, source: start - 1, verbatim: false };
}

/** A call of the guest SDK's `sql()` with determined arguments, evaluated. */
function sqlCall(ts: typeof TS, node: TS.Expression, checker: TS.TypeChecker): Piece[] | undefined {
  if (!ts.isCallExpression(node) || !isGuestSql(ts, node.expression, checker)) return undefined;
  const [queryArg, optionsArg, ...rest] = node.arguments;
  if (rest.length > 0) return undefined;
  const text = (e: TS.Expression | undefined) => evaluate(ts, e, checker)?.map((p) => p.text).join('');
  const query = text(queryArg);
  if (query === undefined) return undefined;
  const options: { -readonly [K in keyof SqlOptions]: SqlOptions[K] } = {};
  if (optionsArg) {
    if (!ts.isObjectLiteralExpression(optionsArg)) return undefined;
    for (const p of optionsArg.properties) {
      if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return undefined;
      const name = p.name.text;
      if (name === 'key' || name === 'parentKey') {
        const value = text(p.initializer);
        if (value === undefined) return undefined;
        options[name] = value;
      } else if (name === 'json' && ts.isArrayLiteralExpression(p.initializer)) {
        const values = p.initializer.elements.map((e) => text(e));
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
  return [{ at: 0, text: directive, file: node.getSourceFile(), source: node.getStart(), verbatim: false }];
}

/** Whether `callee` is the guest SDK's `sql` (imported under any name, or through a namespace import). */
function isGuestSql(ts: typeof TS, callee: TS.Expression, checker: TS.TypeChecker): boolean {
  const name = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
  let symbol = checker.getSymbolAtLocation(name);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const declaration = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
  return declaration !== undefined && resolve(declaration.getSourceFile().fileName) === GUEST_SQL_TYPES;
}
