/**
 * What an extension is sent of a parent object it did not write: least privilege for parents,
 * as the context grant is for the request context (see policy.ts).
 */
import { getNamedType, isAbstractType, isInterfaceType, isObjectType, type GraphQLNamedType, type GraphQLSchema } from 'graphql';

/**
 * The fields extensions added to types they do not define, by schema type name: field name ->
 * extension. Their values are never properties of the owner's objects.
 */
export type AddedFields = ReadonlyMap<string, ReadonlyMap<string, string>>;

/**
 * The parent as an extension on its type may see it: the properties named like fields its
 * type's owner (the application, or the extension that defines it) declares, and within those
 * (objects and lists of them, by the fields' types) the same again. A base resolver's object
 * often carries more than its type shows (a database row's `password_hash`, an owner's token,
 * the request context itself), as may an object another extension returned (a SQL resolver's
 * row has every column its statement selects); an extension is sent only what the schema lets
 * any client ask for (least privilege, like the context grant). A field some extension `added`
 * to the type is not the owner's: a property of that name is the owner's hidden data, not the
 * field's value, and is never sent. Custom scalars are sent as they are. Projected afresh for
 * each call: the application may change its objects between requests.
 */
export function schemaFieldsOf(
  source: unknown,
  type: GraphQLNamedType,
  schema: GraphQLSchema,
  added: AddedFields,
  seen = new Map<object, Map<GraphQLNamedType, unknown>>(),
): unknown {
  if (source === null || typeof source !== 'object') return source;
  if (Array.isArray(source)) return source.map((item) => schemaFieldsOf(item, type, schema, added, seen));
  const fields = fieldsOf(type, schema, added);
  if (!fields) return source; // a scalar whose values are objects
  let byType = seen.get(source);
  if (!byType) seen.set(source, (byType = new Map()));
  let projected = byType.get(type) as Record<string, unknown> | undefined;
  if (!projected) {
    byType.set(type, (projected = {})); // set first: a cycle in the data ends here (and is refused as not JSON)
    for (const [name, fieldType] of fields) {
      if (Object.hasOwn(source, name)) projected[name] = schemaFieldsOf((source as Record<string, unknown>)[name], fieldType, schema, added, seen);
    }
  }
  return projected;
}

/** The owner's fields (name, named type) an object of `type` may have; undefined for scalars and enums. */
const typeFields = new WeakMap<GraphQLNamedType, Map<string, GraphQLNamedType>>();
function fieldsOf(type: GraphQLNamedType, schema: GraphQLSchema, added: AddedFields): Map<string, GraphQLNamedType> | undefined {
  if (!isObjectType(type) && !isAbstractType(type)) return undefined;
  const known = typeFields.get(type);
  if (known) return known;
  const types = isAbstractType(type) ? [...schema.getPossibleTypes(type), ...(isInterfaceType(type) ? [type] : [])] : [type];
  const fields = new Map<string, GraphQLNamedType>();
  for (const t of types) {
    for (const [name, field] of Object.entries(t.getFields())) if (!added.get(t.name)?.has(name)) fields.set(name, getNamedType(field.type));
  }
  if (isAbstractType(type)) fields.set('__typename', schema.getType('String')!);
  typeFields.set(type, fields);
  return fields;
}
