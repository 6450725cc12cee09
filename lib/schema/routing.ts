/**
 * Resolver routing: which extension answers which field.
 *
 * - A field an extension adds to a root or base type calls the extension with a `field-request`:
 *   the type name as the extension knows it, the arguments, the parent object (none for roots),
 *   and the request context. A `Mutation` field runs in a write transaction.
 * - A field of an extension's own type is read from the parent object the extension returned;
 *   only when the property is absent is the extension asked (so it can embed cheap fields and
 *   resolve expensive ones lazily, batched).
 * - Abstract types: the extension answers `__typename` with its own type name; the host maps it
 *   to the composed schema's name.
 *
 * Every call goes through the extension's batching queue: the fields GraphQL asks for in one
 * pass become one `resolve-batch` call. Each call carries the context the application grants
 * that extension and the request's budget for it (see `policy.ts`, `budget.ts`).
 */
import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLTypeResolver,
} from 'graphql';
import type { Extension } from '../runtime/extension.js';
import { registerBudgetPlan, requestBudget } from './budget.js';
import type { ComposedExtension } from './compose.js';
import { DEFAULT_POLICY, grantedContext, type ExtensionPolicy } from './policy.js';

/**
 * Attaches resolvers for every accepted extension to `schema` (built for this purpose).
 * `policyOf` gives each extension's grants (context, budgets). @default nothing granted, default budgets
 */
export function attachResolvers(
  schema: GraphQLSchema,
  composed: ComposedExtension[],
  extensions: ReadonlyMap<string, Extension>,
  policyOf: (name: string) => ExtensionPolicy = () => DEFAULT_POLICY,
): void {
  const mutationRoot = schema.getMutationType()?.name;
  const policies = new Map(composed.map((c) => [c.name, policyOf(c.name)]));
  /** The fields that always call an extension, for the static budget count. */
  const callFields = new Map<string, Map<string, string>>();
  /** Every type an extension owns, so base `resolveType`s can recognise them. */
  const extensionTypes = new Set(composed.flatMap((c) => [...c.ownTypes.values()]));

  for (const entry of composed) {
    const ext = extensions.get(entry.name);
    if (!ext) throw new Error(`attachResolvers: no running extension "${entry.name}"`);
    const policy = policies.get(entry.name)!;
    const localName = new Map<string, string>();
    for (const [local, global] of entry.roots) localName.set(global, local);
    for (const [local, global] of entry.ownTypes) localName.set(global, local);
    const toSchemaName = (local: unknown) => (typeof local === 'string' ? entry.ownTypes.get(local) ?? local : local);

    // Fields added to roots and base types: always a call.
    for (const [typeName, fields] of entry.addedFields) {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) continue; // interface extensions: their implementations resolve
      const typeFields = type.getFields();
      for (const fieldName of fields) {
        const field = typeFields[fieldName]!;
        const isRoot = typeName === schema.getQueryType()?.name || typeName === mutationRoot;
        if (!callFields.has(typeName)) callFields.set(typeName, new Map());
        callFields.get(typeName)!.set(fieldName, entry.name);
        field.resolve = callResolver(ext, policy, localName.get(typeName) ?? typeName, fieldName, {
          root: isRoot,
          baseParent: !isRoot,
          write: typeName === mutationRoot,
          retypes: returnsBaseAbstract(field.type, extensionTypes) ? toSchemaName : undefined,
        });
      }
    }

    // The extension's own types.
    for (const [local, global] of entry.ownTypes) {
      const type = schema.getType(global);
      if (isObjectType(type)) {
        for (const [fieldName, field] of Object.entries(type.getFields())) {
          const call = callResolver(ext, policy, local, fieldName, {
            root: false,
            baseParent: false,
            write: false,
            retypes: returnsBaseAbstract(field.type, extensionTypes) ? toSchemaName : undefined,
          });
          field.resolve = (source, args, context, info) => {
            const embedded = (source as Record<string, unknown> | null)?.[fieldName];
            return embedded !== undefined ? embedded : call(source, args, context, info);
          };
        }
      } else if (isInterfaceType(type) || isUnionType(type)) {
        type.resolveType = (value) => toSchemaName((value as { __typename?: unknown } | null)?.__typename) as string | undefined;
      }
    }
  }

  registerBudgetPlan(schema, callFields, policies);

  // Base interfaces and unions an extension type implements: their own resolveType does not
  // know the extension's types, so an extension object (already renamed) is recognised first.
  // (With no extension type there is nothing to recognise, and the schema's types may still be
  // the application's own objects, which must not be touched.)
  if (extensionTypes.size === 0) return;
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isAbstractType(type) || extensionTypes.has(type.name)) continue;
    const original: GraphQLTypeResolver<unknown, unknown> | undefined | null = type.resolveType;
    type.resolveType = (value, context, info, abstractType) => {
      const name = (value as { __typename?: unknown } | null)?.__typename;
      if (typeof name === 'string' && extensionTypes.has(name)) return name;
      return original ? original(value, context, info, abstractType) : (name as string | undefined);
    };
  }
}

interface CallOptions {
  root: boolean;
  write: boolean;
  /** Set when the field returns a base abstract type: maps the extension's `__typename`s. */
  retypes: ((local: unknown) => unknown) | undefined;
  /** The parent is an object of the application's (or another extension's): send only its schema fields. */
  baseParent: boolean;
}

function callResolver(ext: Extension, policy: ExtensionPolicy, typeName: string, fieldName: string, options: CallOptions): GraphQLFieldResolver<unknown, unknown> {
  return async (source, args, context, info) => {
    const budget = requestBudget(info, ext.name);
    const value = await ext.resolveField(
      {
        typeName,
        fieldName,
        arguments: args,
        parent: options.root ? undefined : options.baseParent ? schemaFieldsOf(source, info.parentType, info.schema) : source,
        context: grantedContext(ext.name, policy, context as Record<string, unknown> | null | undefined, typeof info.rootValue === 'object' ? info.rootValue : undefined),
        ...(budget ? { budget } : {}),
      },
      { write: options.write },
    );
    return options.retypes ? retype(value, options.retypes) : value;
  };
}

/**
 * The parent as an extension on its type may see it: the properties named like fields of its
 * type, and within those (objects and lists of them, by the fields' types) the same again. A
 * base resolver's object often carries more than its type shows (a database row's
 * `password_hash`, an owner's token, the request context itself), as may an object another
 * extension returned; an extension is sent only what the schema lets any client ask for
 * (least privilege, like the context grant). Custom scalars are sent as they are. Projected
 * afresh for each call: the application may change its objects between requests.
 */
function schemaFieldsOf(source: unknown, type: GraphQLNamedType, schema: GraphQLSchema, seen = new Map<object, Map<GraphQLNamedType, unknown>>()): unknown {
  if (source === null || typeof source !== 'object') return source;
  if (Array.isArray(source)) return source.map((item) => schemaFieldsOf(item, type, schema, seen));
  const fields = fieldsOf(type, schema);
  if (!fields) return source; // a scalar whose values are objects
  let byType = seen.get(source);
  if (!byType) seen.set(source, (byType = new Map()));
  let projected = byType.get(type) as Record<string, unknown> | undefined;
  if (!projected) {
    byType.set(type, (projected = {})); // set first: a cycle in the data ends here (and is refused as not JSON)
    for (const [name, fieldType] of fields) {
      if (Object.hasOwn(source, name)) projected[name] = schemaFieldsOf((source as Record<string, unknown>)[name], fieldType, schema, seen);
    }
  }
  return projected;
}

/** The fields (name, named type) an object of `type` may have; undefined for scalars and enums. */
const typeFields = new WeakMap<GraphQLNamedType, Map<string, GraphQLNamedType>>();
function fieldsOf(type: GraphQLNamedType, schema: GraphQLSchema): Map<string, GraphQLNamedType> | undefined {
  if (!isObjectType(type) && !isAbstractType(type)) return undefined;
  const known = typeFields.get(type);
  if (known) return known;
  const types = isAbstractType(type) ? [...schema.getPossibleTypes(type), ...(isInterfaceType(type) ? [type] : [])] : [type];
  const fields = new Map<string, GraphQLNamedType>();
  for (const t of types) for (const [name, field] of Object.entries(t.getFields())) fields.set(name, getNamedType(field.type));
  if (isAbstractType(type)) fields.set('__typename', schema.getType('String')!);
  typeFields.set(type, fields);
  return fields;
}

/** Renames `__typename` on an object or the objects of a (nested) list. */
function retype(value: unknown, toSchemaName: (local: unknown) => unknown): unknown {
  if (Array.isArray(value)) for (const item of value) retype(item, toSchemaName);
  else if (value !== null && typeof value === 'object' && '__typename' in value) {
    (value as { __typename: unknown }).__typename = toSchemaName((value as { __typename: unknown }).__typename);
  }
  return value;
}

function returnsBaseAbstract(type: GraphQLOutputType, extensionTypes: Set<string>): boolean {
  const named = getNamedType(type);
  return isAbstractType(named) && !extensionTypes.has(named.name);
}
