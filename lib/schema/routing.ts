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
 * pass become one `resolve-batch` call.
 */
import {
  defaultTypeResolver,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type GraphQLTypeResolver,
} from 'graphql';
import type { Extension } from '../runtime/extension.js';
import { Boundary, hasOwn, ownTypename, type Rename } from './boundary.js';
import type { ComposedExtension } from './compose.js';

/** Attaches resolvers for every accepted extension to `schema` (built for this purpose). */
export function attachResolvers(schema: GraphQLSchema, composed: ComposedExtension[], extensions: ReadonlyMap<string, Extension>): void {
  const mutationRoot = schema.getMutationType()?.name;
  /** Every type an extension owns, so base `resolveType`s can recognise them. */
  const extensionTypes = new Set(composed.flatMap((c) => [...c.ownTypes.values()]));
  const boundary = new Boundary(schema);

  for (const entry of composed) {
    const ext = extensions.get(entry.name);
    if (!ext) throw new Error(`attachResolvers: no running extension "${entry.name}"`);
    const localName = new Map<string, string>();
    for (const [local, global] of entry.roots) localName.set(global, local);
    for (const [local, global] of entry.ownTypes) localName.set(global, local);
    const names = { toSchema: (local: string) => entry.ownTypes.get(local) ?? local, toLocal: (global: string) => localName.get(global) ?? global };

    // Fields added to roots and base types: always a call.
    for (const [typeName, fields] of entry.addedFields) {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) continue; // interface extensions: their implementations resolve
      const typeFields = type.getFields();
      for (const fieldName of fields) {
        const field = typeFields[fieldName]!;
        const isRoot = typeName === schema.getQueryType()?.name || typeName === mutationRoot;
        field.resolve = callResolver(ext, boundary, field, { typeName: names.toLocal(typeName), root: isRoot, write: typeName === mutationRoot, ...names });
      }
    }

    // The extension's own types.
    for (const [local, global] of entry.ownTypes) {
      const type = schema.getType(global);
      if (isObjectType(type)) {
        for (const [fieldName, field] of Object.entries(type.getFields())) {
          const call = callResolver(ext, boundary, field, { typeName: local, root: false, write: false, ...names });
          field.resolve = (source, args, context, info) =>
            // Only an own property is an embedded value (never `constructor`, `toString`, ...).
            hasOwn(source, fieldName) && source[fieldName] !== undefined ? source[fieldName] : call(source, args, context, info);
        }
      } else if (isInterfaceType(type) || isUnionType(type)) {
        // The boundary already mapped the answer's `__typename` to the schema's name.
        type.resolveType = (value, context, info, abstractType) => ownTypename(value) ?? defaultTypeResolver(value, context, info, abstractType);
      }
    }
  }

  // Base interfaces and unions an extension type implements: their own resolveType does not
  // know the extension's types, so an extension object (already renamed) is recognised first;
  // anything else gets what graphql-js would have done: the base's resolveType, or without one
  // the default type resolver (`__typename`, then each possible type's `isTypeOf`).
  // (With no extension type there is nothing to recognise, and the schema's types may still be
  // the application's own objects, which must not be touched.)
  if (extensionTypes.size === 0) return;
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isAbstractType(type) || extensionTypes.has(type.name)) continue;
    const original: GraphQLTypeResolver<unknown, unknown> = type.resolveType ?? defaultTypeResolver;
    type.resolveType = (value, context, info, abstractType) => {
      const name = ownTypename(value);
      return name !== undefined && extensionTypes.has(name) ? name : original(value, context, info, abstractType);
    };
  }
}

interface CallOptions {
  /** The parent type as the extension names it. */
  typeName: string;
  root: boolean;
  write: boolean;
  /** The extension's type names -> the schema's (answers), and back (parents). */
  toSchema: Rename;
  toLocal: Rename;
}

function callResolver(ext: Extension, boundary: Boundary, field: GraphQLField<unknown, unknown>, options: CallOptions): GraphQLFieldResolver<unknown, unknown> {
  return async (source, args, context, info) => {
    const value = await ext.resolveField(
      {
        typeName: options.typeName,
        fieldName: field.name,
        arguments: boundary.arguments(field, args),
        parent: options.root ? undefined : boundary.parent(info.parentType, source, options.toLocal),
        context: (context ?? undefined) as Record<string, unknown> | undefined,
      },
      { write: options.write },
    );
    return boundary.answer(field.type, value, options.toSchema);
  };
}
