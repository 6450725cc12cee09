/** Which of a schema's types hold values the GraphQL boundary (lib/schema/boundary.ts) must convert. */
import { getNamedType, isAbstractType, isInputObjectType, isLeafType, isObjectType, isSpecifiedScalarType, type GraphQLNamedType, type GraphQLSchema, type GraphQLType } from 'graphql';

/**
 * The named types whose values need a walk: leaf types other than the specified scalars,
 * abstract types (their `__typename` is renamed), and every object or input type with a field
 * (transitively) of one of those. A fixed point, so recursive types are right.
 */
export function convertingTypes(schema: GraphQLSchema): Set<GraphQLNamedType> {
  const types = Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__'));
  const converts = new Set<GraphQLNamedType>(types.filter((t) => (isLeafType(t) && !isSpecifiedScalarType(t)) || isAbstractType(t)));
  for (let grew = true; grew; ) {
    grew = false;
    for (const type of types) {
      if (converts.has(type) || !(isObjectType(type) || isInputObjectType(type))) continue;
      if (Object.values(type.getFields()).some((f) => converts.has(getNamedType(f.type as GraphQLType)))) {
        converts.add(type);
        grew = true;
      }
    }
  }
  return converts;
}
