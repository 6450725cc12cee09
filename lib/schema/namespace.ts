/**
 * Namespacing, done on the SDL's syntax tree before any merge: an extension's own types get its
 * prefix (`issues`: `Issue` -> `Issues_Issue`), every reference to them follows, and the fields
 * it adds to the application's types keep their names. The extension itself never sees the
 * prefix: it always gets the names it wrote.
 *
 * Renaming the AST (rather than wrapping a built schema) is cheap and keeps `extend type`
 * working across the extension's own SDL.
 */
import {
  GraphQLError,
  Kind,
  visit,
  type ASTNode,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type NameNode,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';
import { SQL_DIRECTIVE } from '../runtime/sql-fields.js';

const TYPE_NODE_KINDS = [
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_EXTENSION,
  Kind.UNION_TYPE_DEFINITION,
  Kind.UNION_TYPE_EXTENSION,
  Kind.ENUM_TYPE_DEFINITION,
  Kind.ENUM_TYPE_EXTENSION,
  Kind.INPUT_OBJECT_TYPE_DEFINITION,
  Kind.INPUT_OBJECT_TYPE_EXTENSION,
  Kind.SCALAR_TYPE_DEFINITION,
  Kind.SCALAR_TYPE_EXTENSION,
];

/** How an extension's own types are named in the composed schema. */
export type NamespaceMode = 'prefix' | 'none';

/** The result of {@link namespaceSdl}. */
export interface NamespacedSdl {
  /** The SDL with own types renamed and root definitions turned into extensions. */
  document: DocumentNode;
  /** Own types: the extension's name -> the composed schema's name. */
  ownTypes: Map<string, string>;
  /** Fields added to types the extension does not own (roots, base types): schema type name -> fields. */
  addedFields: Map<string, string[]>;
  /** The schema type names of the roots, by the name the extension uses (`Query` -> `RootQuery`). */
  roots: Map<string, string>;
  /**
   * Keyed SQL resolvers (`@sql(..., parentKey:)`) on types the extension does not define: the
   * schema type, the field, the parent field the key comes from (checked once the type is known).
   */
  sqlParentKeys: Array<{ type: string; field: string; parentKey: string; node: ASTNode }>;
}

/** The GraphQL-safe prefix for an extension name: `my-ext` -> `MyExt_`. */
export function typePrefix(extensionName: string): string {
  return extensionName.split(/[-_]/).filter(Boolean).map((part) => part[0]!.toUpperCase() + part.slice(1)).join('') + '_';
}

/**
 * Renames the own types of one extension's SDL. `rootNames` maps the conventional root names
 * the extension writes (`Query`, `Mutation`) to the application schema's actual ones. Throws a
 * located `GraphQLError` for SDL the host does not accept (schema or directive definitions,
 * subscriptions).
 */
export function namespaceSdl(document: DocumentNode, prefix: string, rootNames: { Query: string; Mutation: string }): NamespacedSdl {
  const roots = new Map<string, string>([
    ['Query', rootNames.Query],
    ['Mutation', rootNames.Mutation],
  ]);
  const ownTypes = new Map<string, string>();
  const definitions: DefinitionNode[] = [];

  for (const def of document.definitions) {
    switch (def.kind) {
      case Kind.SCHEMA_DEFINITION:
      case Kind.SCHEMA_EXTENSION:
        throw located('an extension cannot define the schema: use `extend type Query` / `extend type Mutation`', def);
      case Kind.DIRECTIVE_DEFINITION:
        throw located('directive definitions are not supported in extensions', def);
      case Kind.OPERATION_DEFINITION:
      case Kind.FRAGMENT_DEFINITION:
        throw located('an extension schema cannot contain operations or fragments', def);
      default:
        break;
    }
    const name = def.name.value;
    if (name === 'Subscription') throw located('subscriptions are not supported: the host serves queries and mutations', def);
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION && roots.has(name)) {
      // `type Query { ... }` in an extension means "add these root fields".
      definitions.push(asExtension(def));
      continue;
    }
    if (
      def.kind === Kind.OBJECT_TYPE_DEFINITION ||
      def.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      def.kind === Kind.UNION_TYPE_DEFINITION ||
      def.kind === Kind.ENUM_TYPE_DEFINITION ||
      def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION ||
      def.kind === Kind.SCALAR_TYPE_DEFINITION
    ) {
      if (ownTypes.has(name)) throw located(`type "${name}" is defined twice`, def);
      ownTypes.set(name, prefix + name);
    }
    definitions.push(def);
  }

  const schemaName = (name: string): string => ownTypes.get(name) ?? roots.get(name) ?? name;
  const rename = (node: NameNode): NameNode => ({ ...node, value: schemaName(node.value) });
  // Every named type definition or extension, and every reference to a type.
  const renameNode = <T extends { name: NameNode }>(node: T): T => ({ ...node, name: rename(node.name) });
  const visitor: Record<string, unknown> = Object.fromEntries([...TYPE_NODE_KINDS, Kind.NAMED_TYPE].map((kind) => [kind, renameNode]));
  // `@sql` is the extension's business (the host runs it, lib/runtime/sql-fields.ts): it is not
  // part of the served schema, whose clients must not see the extension's SQL.
  visitor[Kind.FIELD_DEFINITION] = (node: FieldDefinitionNode) =>
    node.directives?.some((d) => d.name.value === SQL_DIRECTIVE) ? { ...node, directives: node.directives.filter((d) => d.name.value !== SQL_DIRECTIVE) } : undefined;
  const renamed = visit({ ...document, definitions }, visitor);

  const sqlParentKeys: NamespacedSdl['sqlParentKeys'] = [];
  const rootAlias = new Map([...roots].filter(([local, global]) => local !== global).map(([local, global]) => [global, local]));
  for (const def of definitions) {
    // (A key on a root field is refused by the SQL resolvers' own rules: a root has no parent.)
    if (def.kind !== Kind.OBJECT_TYPE_EXTENSION || ownTypes.has(def.name.value) || roots.has(def.name.value)) continue;
    for (const field of def.fields ?? []) {
      // The extension's SQL resolvers are named by the root names it is sent (Query, Mutation).
      const local = rootAlias.get(def.name.value);
      if (local && field.directives?.some((d) => d.name.value === SQL_DIRECTIVE)) {
        throw located(`${def.name.value}.${field.name.value} @sql: write \`extend type ${local}\` for a SQL resolver on the application's ${local} root (${def.name.value})`, field);
      }
      const parentKey = field.directives
        ?.find((d) => d.name.value === SQL_DIRECTIVE)
        ?.arguments?.find((a) => a.name.value === 'parentKey')?.value;
      if (parentKey?.kind === Kind.STRING) sqlParentKeys.push({ type: schemaName(def.name.value), field: field.name.value, parentKey: parentKey.value, node: field });
    }
  }

  const addedFields = new Map<string, string[]>();
  for (const def of definitions) {
    if ((def.kind === Kind.OBJECT_TYPE_EXTENSION || def.kind === Kind.INTERFACE_TYPE_EXTENSION) && !ownTypes.has(def.name.value)) {
      const target = schemaName(def.name.value);
      addedFields.set(target, [...(addedFields.get(target) ?? []), ...(def.fields ?? []).map((f) => f.name.value)]);
    }
  }
  return { document: renamed, ownTypes, addedFields, roots, sqlParentKeys };
}

function asExtension(def: ObjectTypeDefinitionNode): ObjectTypeExtensionNode {
  const { description: _description, ...rest } = def;
  return { ...rest, kind: Kind.OBJECT_TYPE_EXTENSION };
}

function located(message: string, node: ASTNode): GraphQLError {
  return new GraphQLError(message, { nodes: node });
}
