/**
 * SQL resolvers: fields an extension's SDL declares with `@sql`, which the host resolves by
 * running the statement on the extension's own database, inside its isolation boundary (its
 * process, worker or, inline, the main thread), with no guest code at all.
 *
 * ```graphql
 * extend type Query { notes(tag: String): [Note!]! @sql(query: "SELECT id, text FROM notes WHERE :tag IS NULL OR tag = :tag") }
 * extend type User { notes: [Note!]! @sql(query: "SELECT id, text, author_id FROM notes WHERE author_id IN (SELECT value FROM json_each(:keys))", key: "author_id", parentKey: "id") }
 * ```
 *
 * This module reads the declarations from the SDL (the rules that need no database); the
 * statements are checked against the migrated database and run by `sql-resolvers.ts`. The
 * directive is the extension's own business: composition removes it from the served schema.
 */
import { Kind, parse, visit, type ASTNode, type ConstDirectiveNode, type DocumentNode, type FieldDefinitionNode, type TypeNode } from 'graphql';

/**
 * Which statement a SQL resolver's field runs: fields of one call with the same key share one
 * statement (a keyed field's parents: one statement with all their keys; a field asked again
 * with the same arguments: its rows again). Its `Type.field` and its arguments' JSON text.
 */
export function statementKey(request: { typeName: string; fieldName: string; arguments: string }): string {
  return `${request.typeName}.${request.fieldName}\n${request.arguments}`;
}

/** The directive's name, as an SDL writes it (`@sql`). */
export const SQL_DIRECTIVE = 'sql';

/** The shape of a SQL resolver's answer, from its field's type. */
export type SqlShape =
  /** An object type: the first row as an object (`null` without rows). */
  | 'row'
  /** A list of an object type: every row, as objects. */
  | 'rows'
  /**
   * A scalar or enum: the first column of the first row (of a keyed field: the first column
   * besides the key column), `null` without rows; for a statement returning no data, its changes
   * (`Int`) or whether it changed any row (`Boolean`).
   */
  | 'value'
  /** A list of a scalar or enum: the first column of every row. */
  | 'values';

/** One `@sql` field, as the extension's SDL declares it. Cloneable (it crosses to workers and processes). */
export interface SqlField {
  /** The parent type as the extension names it (`Query`, `Mutation`, `Issue`, `User`). */
  typeName: string;
  fieldName: string;
  /** The statement: one SQL statement; its parameters are `:argumentName`s, and `:keys` for a keyed field. */
  query: string;
  /**
   * A non-root field: the column of the rows that holds the parent's key (`key`), and the parent's
   * field it matches (`parentKey`). All parents of one call are resolved by one statement, which
   * gets their keys as the JSON array `:keys`; rows go to the parent whose key has the same text.
   */
  key?: { column: string; parentField: string };
  /** Columns holding JSON text, parsed before they are answered (lists and objects in a row). */
  json: string[];
  shape: SqlShape;
  /** The field's named type (unwrapped). */
  resultType: string;
  /** The field's argument names: the only `:name`s the statement may use (besides `:keys`). */
  arguments: string[];
  /** A `Mutation` field: runs in the call's write transaction; any other only reads. */
  write: boolean;
  /** For an object result: its non-null fields that columns must provide (no arguments, no `@sql` of their own). */
  requiredColumns: string[];
  /**
   * For an object result: its fields a column can fill only as JSON text (lists, objects), so a
   * column of that name must be declared in `json`.
   */
  jsonFields: string[];
  /**
   * For an object result: its `Boolean` fields (SQLite has no boolean: an INTEGER column answers
   * them, `0` false and any other number true, as SQLite's own truth test).
   */
  booleanColumns: string[];
}

/** An `@sql` declaration the host refuses; the message names `Type.field`. */
export class SqlFieldError extends Error {
  override name = 'SqlFieldError';
}

const BUILT_IN_SCALARS = new Set(['Int', 'Float', 'String', 'Boolean', 'ID']);

/**
 * Every `@sql` field of `sdl`, by `Type.field`. An SDL that does not parse has none (composition
 * reports the syntax error, with its position). Throws {@link SqlFieldError} for a declaration
 * that can never work, whatever the database holds.
 */
export function sqlFieldsOf(sdl: string): Map<string, SqlField> {
  let document: DocumentNode;
  try {
    document = parse(sdl, { noLocation: true });
  } catch {
    return new Map();
  }
  refuseMisplaced(document);
  const objects = new Map<string, FieldDefinitionNode[]>();
  const leaves = new Set(BUILT_IN_SCALARS);
  const abstract = new Set<string>();
  for (const def of document.definitions) {
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) {
      objects.set(def.name.value, [...(objects.get(def.name.value) ?? []), ...(def.fields ?? [])]);
    } else if (def.kind === Kind.ENUM_TYPE_DEFINITION || def.kind === Kind.SCALAR_TYPE_DEFINITION) leaves.add(def.name.value);
    else if (def.kind === Kind.INTERFACE_TYPE_DEFINITION || def.kind === Kind.UNION_TYPE_DEFINITION) abstract.add(def.name.value);
    if (def.kind === Kind.INTERFACE_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_EXTENSION) {
      const field = def.fields?.find((f) => f.directives?.some((d) => d.name.value === SQL_DIRECTIVE));
      if (field) throw new SqlFieldError(`${def.name.value}.${field.name.value} @sql: an interface field is resolved by its object types: put @sql on theirs`);
    }
  }
  // Own object types: defined (not only extended) here, roots aside.
  const ownObjects = new Set(
    document.definitions.flatMap((d) => (d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value !== 'Query' && d.name.value !== 'Mutation' ? [d.name.value] : [])),
  );
  const fields = new Map<string, SqlField>();
  for (const [typeName, defs] of objects) {
    for (const def of defs) {
      const directive = def.directives?.find((d) => d.name.value === SQL_DIRECTIVE);
      if (!directive) continue;
      const where = `${typeName}.${def.name.value}`;
      const fail = (message: string): never => {
        throw new SqlFieldError(`${where} @sql: ${message}`);
      };
      if (def.directives!.filter((d) => d.name.value === SQL_DIRECTIVE).length > 1) fail('the directive appears twice');
      const args = directiveArguments(directive, fail);
      const root = typeName === 'Query' || typeName === 'Mutation';
      if (root && args.key !== undefined) fail('a root field has no parent: key and parentKey are for fields of other types');
      if ((args.key === undefined) !== (args.parentKey === undefined)) fail('key and parentKey go together: the rows\' column and the parent\'s field it matches');
      if (args.parentKey !== undefined && ownObjects.has(typeName)) {
        const keyField = objects.get(typeName)!.find((f) => f.name.value === args.parentKey);
        if (!keyField) fail(`parentKey "${args.parentKey}" is not a field of ${typeName}`);
        const keyType = unwrap(keyField!.type);
        if (keyType.list || !leaves.has(keyType.name) || keyType.name === 'Boolean') {
          fail(`parentKey "${args.parentKey}" must be an ID, String, Int, Float, enum or scalar field of ${typeName}`);
        }
      }
      if (args.key !== undefined && def.arguments?.some((a) => a.name.value === 'keys')) fail('an argument named "keys" would clash with :keys, the parents\' keys: rename it');
      const { name: resultType, list, depth } = unwrap(def.type);
      if (depth > 1) fail('a list of lists cannot be built from rows');
      let shape: SqlShape;
      if (ownObjects.has(resultType)) shape = list ? 'rows' : 'row';
      else if (leaves.has(resultType)) shape = list ? 'values' : 'value';
      else if (abstract.has(resultType)) fail(`${resultType} is an interface or union: a row cannot name its type; resolve it in the extension`);
      else fail(`${resultType} is not an object type, enum or scalar this SDL defines (nor a built-in scalar): rows can only become this extension's own types`);
      const requiredColumns =
        shape! === 'row' || shape! === 'rows'
          ? objects.get(resultType)!.filter((f) => f.type.kind === Kind.NON_NULL_TYPE && !f.arguments?.length && !f.directives?.some((d) => d.name.value === SQL_DIRECTIVE)).map((f) => f.name.value)
          : [];
      const jsonFields =
        shape! === 'row' || shape! === 'rows'
          ? objects.get(resultType)!.filter((f) => !f.arguments?.length && (unwrap(f.type).list || !leaves.has(unwrap(f.type).name))).map((f) => f.name.value)
          : [];
      const booleanColumns =
        shape! === 'row' || shape! === 'rows' ? objects.get(resultType)!.filter((f) => unwrap(f.type).name === 'Boolean' && !unwrap(f.type).list).map((f) => f.name.value) : [];
      fields.set(where, {
        typeName,
        fieldName: def.name.value,
        query: args.query,
        ...(args.key !== undefined ? { key: { column: args.key, parentField: args.parentKey! } } : {}),
        json: args.json,
        shape: shape!,
        resultType,
        arguments: (def.arguments ?? []).map((a) => a.name.value),
        write: typeName === 'Mutation',
        requiredColumns,
        jsonFields,
        booleanColumns,
      });
    }
  }
  return fields;
}

/** `@sql` anywhere but on a field definition (arguments, input fields, types, enum values). */
function refuseMisplaced(document: DocumentNode): void {
  visit(document, {
    Directive(node, _key, _parent, _path, ancestors) {
      if (node.name.value !== SQL_DIRECTIVE) return;
      // `parent` is the `directives` array; the last ancestor is the node it belongs to.
      const owner = ancestors[ancestors.length - 1] as ASTNode | undefined;
      if (owner && 'kind' in owner && owner.kind !== Kind.FIELD_DEFINITION) {
        const what = owner.kind === Kind.INPUT_VALUE_DEFINITION ? 'an argument or input field' : `a ${owner.kind.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`;
        const name = 'name' in owner && owner.name ? ` ("${owner.name.value}")` : '';
        throw new SqlFieldError(`@sql goes on a field of an object type, not on ${what}${name}`);
      }
    },
  });
}

/** The directive's arguments, each of its declared type. */
function directiveArguments(directive: ConstDirectiveNode, fail: (message: string) => never) {
  const out: { query?: string; key?: string; parentKey?: string; json: string[] } = { json: [] };
  for (const arg of directive.arguments ?? []) {
    const name = arg.name.value;
    const value = arg.value;
    if (name === 'query' || name === 'key' || name === 'parentKey') {
      if (value.kind !== Kind.STRING) fail(`${name} must be a string`);
      out[name] = (value as { value: string }).value;
    } else if (name === 'json') {
      const items = value.kind === Kind.LIST ? value.values : [value];
      out.json = items.map((v) => (v.kind === Kind.STRING ? v.value : fail('json must be a list of column names')));
    } else fail(`unknown argument "${name}" (known: query, key, parentKey, json)`);
  }
  if (out.query === undefined || out.query.trim() === '') fail('query is required');
  return out as typeof out & { query: string };
}

function unwrap(type: TypeNode): { name: string; list: boolean; depth: number } {
  let depth = 0;
  while (type.kind !== Kind.NAMED_TYPE) {
    if (type.kind === Kind.LIST_TYPE) depth++;
    type = type.type;
  }
  return { name: type.name.value, list: depth > 0, depth };
}
