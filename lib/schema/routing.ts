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
 *   to the composed schema's name (lib/schema/boundary.ts). An extension may name its own types,
 *   the base schema's, and another extension's only if its SDL uses that type.
 *
 * Every call goes through the extension's batching queue: the fields GraphQL asks for in one
 * pass become one `resolve-batch` call. Each call carries the context the application grants
 * that extension and the request's budget for it (see `policy.ts`, `budget.ts`); a parent the
 * extension did not write is sent with its schema fields only (`projection.ts`).
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
import type { SqlField } from '../runtime/sql-fields.js';
import { BadAnswerError, Boundary, type Peer } from './boundary.js';
import { hasOwn, shown } from './plain-values.js';
import { registerBudgetPlan, requestBudget } from './budget.js';
import type { ComposedExtension } from './compose.js';
import { usedTypes } from './order.js';
import { DEFAULT_POLICY, grantedContext, type ExtensionPolicy } from './policy.js';
import { schemaFieldsOf, type AddedFields } from './projection.js';

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
  /** Which extension defines each of the extensions' types. */
  const definedBy = new Map(composed.flatMap((c) => [...c.ownTypes.values()].map((type) => [type, c.name] as const)));
  const boundary = new Boundary(schema, new Set(definedBy.keys()));

  for (const entry of composed) {
    const ext = extensions.get(entry.name);
    if (!ext) throw new Error(`attachResolvers: no running extension "${entry.name}"`);
    const policy = policies.get(entry.name)!;
    const localName = new Map<string, string>();
    for (const [local, global] of entry.roots) localName.set(global, local);
    for (const [local, global] of entry.ownTypes) localName.set(global, local);
    const uses = usedTypes(entry.document, entry.ownTypes.values());
    const peer: Peer = {
      extension: entry.name,
      toSchema: (local) => entry.ownTypes.get(local) ?? local,
      toLocal: (global) => localName.get(global) ?? global,
      mayAnswer: (type) => {
        const owner = definedBy.get(type);
        return owner === undefined || owner === entry.name || uses.has(type);
      },
    };

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
        field.resolve = callResolver(ext, boundary, field, {
          typeName: peer.toLocal(typeName),
          sql: ext.sqlFields.get(`${peer.toLocal(typeName)}.${fieldName}`),
          root: isRoot,
          baseParent: !isRoot,
          write: typeName === mutationRoot,
          peer,
          policy,
          added: callFields,
        });
      }
    }

    // The extension's own types.
    for (const [local, global] of entry.ownTypes) {
      const type = schema.getType(global);
      if (isObjectType(type)) {
        for (const [fieldName, field] of Object.entries(type.getFields())) {
          const call = callResolver(ext, boundary, field, { typeName: local, sql: ext.sqlFields.get(`${local}.${fieldName}`), root: false, baseParent: false, write: false, peer, policy, added: callFields });
          field.resolve = (source, args, context, info) => {
            if (source === null || typeof source !== 'object' || Array.isArray(source)) {
              throw new BadAnswerError(entry.name, `the answer for "${local}" must be an object, not ${shown(source)}`, source);
            }
            // Only an own property is an embedded value (never `constructor`, `toString`, ...),
            // converted now that it is read, in the names of the extension that wrote it.
            if (!hasOwn(source, fieldName) || source[fieldName] === undefined) return call(source, args, context, info);
            return boundary.answer(field.type, source[fieldName], boundary.writerOf(source) ?? peer);
          };
        }
      } else if (isInterfaceType(type) || isUnionType(type)) {
        // The boundary already checked and mapped the answer's `__typename` to the schema's name.
        type.resolveType = (value) => {
          const name = boundary.answeredType(value);
          if (name === undefined) throw new BadAnswerError(entry.name, `an object answered for "${local}" must name its type in "__typename"`, value);
          return name;
        };
      }
    }
  }

  // Base interfaces and unions: their own resolveType does not know the extension's objects, so
  // an extension's object (its `__typename` checked and renamed by the boundary) is recognised first;
  // anything else gets what graphql-js would have done: the base's resolveType, or without one
  // the default type resolver (`__typename`, then each possible type's `isTypeOf`).
  // (With no extension there is nothing to recognise, and the schema's types may still be the
  // application's own objects, which must not be touched.)
  registerBudgetPlan(schema, callFields, policies);
  if (composed.length === 0) return;
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isAbstractType(type) || definedBy.has(type.name)) continue;
    const original: GraphQLTypeResolver<unknown, unknown> = type.resolveType ?? defaultTypeResolver;
    type.resolveType = (value, context, info, abstractType) => boundary.answeredType(value) ?? original(value, context, info, abstractType);
  }
}

interface CallOptions {
  /** The parent type as the extension names it. */
  typeName: string;
  /** Resolved by the host's SQL resolver: it needs no context and, of the parent, only its key. */
  sql: SqlField | undefined;
  root: boolean;
  write: boolean;
  /** The parent is an object of the application's (or another extension's): send only its schema fields. */
  baseParent: boolean;
  /** The extension, its type names, what it may answer. */
  peer: Peer;
  /** What the application grants it (context, budgets). */
  policy: ExtensionPolicy;
  /** The fields extensions add to types they do not define (never sent as parts of a parent). */
  added: AddedFields;
}

function callResolver(ext: Extension, boundary: Boundary, field: GraphQLField<unknown, unknown>, options: CallOptions): GraphQLFieldResolver<unknown, unknown> {
  return async (source, args, context, info) => {
    const budget = requestBudget(info, ext.name);
    const { sql } = options;
    // Serialized first (in the extension's names), then cut to what the schema shows.
    const parent = options.root || (sql && !sql.key) ? undefined : boundary.parent(info.parentType, source, options.peer);
    const value = await ext.resolveField(
      {
        typeName: options.typeName,
        fieldName: field.name,
        arguments: boundary.arguments(field, args),
        parent: keyOnly(options.baseParent ? schemaFieldsOf(parent, info.parentType, info.schema, options.added) : parent, sql),
        ...(sql ? {} : { context: grantedContext(ext.name, options.policy, context as Record<string, unknown> | null | undefined, typeof info.rootValue === 'object' ? info.rootValue : undefined) }),
        ...(budget ? { budget } : {}),
      },
      { write: options.write },
    );
    return boundary.answer(field.type, value, options.peer);
  };
}

/** Of the parent, a keyed SQL resolver needs its key field alone (as serialized): all its statement can use. */
function keyOnly(parent: unknown, sql: SqlField | undefined): unknown {
  if (!sql?.key) return parent;
  const field = sql.key.parentField;
  if (parent === null || typeof parent !== 'object' || !hasOwn(parent, field)) return undefined;
  return { [field]: (parent as Record<string, unknown>)[field] };
}
