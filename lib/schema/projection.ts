/**
 * What an extension is sent of a parent object it did not write: least privilege for parents,
 * as the context grant is for the request context (see policy.ts).
 */
import { getNamedType, isAbstractType, isInterfaceType, isObjectType, type GraphQLNamedType, type GraphQLSchema } from 'graphql';

/**
 * The parent as an extension on its type may see it: the properties named like fields of its
 * type, and within those (objects and lists of them, by the fields' types) the same again. A
 * base resolver's object often carries more than its type shows (a database row's
 * `password_hash`, an owner's token, the request context itself), as may an object another
 * extension returned; an extension is sent only what the schema lets any client ask for
 * (least privilege, like the context grant). Custom scalars are sent as they are. Projected
 * afresh for each call: the application may change its objects between requests.
 */
export function schemaFieldsOf(source: unknown, type: GraphQLNamedType, schema: GraphQLSchema, seen = new Map<object, Map<GraphQLNamedType, unknown>>()): unknown {
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
