/**
 * The value boundary between the composed schema and an extension: what crosses is always the
 * **serialized (JSON) form** of GraphQL values, never the application's internal values.
 *
 * - Into the extension, arguments (defaults included, enums inside input objects and lists) and
 *   parent objects are serialized with each leaf type's `serialize`: a base `enum Color { RED }`
 *   whose internal value is `0` arrives as `"RED"`, a `Money` scalar held in cents as `"12.34"`.
 * - Out of the extension, answers are parsed back with each leaf type's `parseValue` before
 *   graphql-js completes them (it calls `serialize` on every leaf), the way graphql-tools'
 *   delegation resolves external values (ardatan/graphql-tools#2214). A value the type refuses
 *   becomes an error at that position only.
 * - At every abstract-typed position (interfaces and unions, the base schema's or an
 *   extension's own, at any depth, in lists) the `__typename` the extension wrote (its own type
 *   names) is mapped to the composed schema's name on the way out and back on the way in.
 *
 * Only a property that is the object's *own* is a field's value: `constructor` or `toString` on
 * `Object.prototype` never is. The five specified scalars (Int, Float, String, Boolean, ID) are
 * passed through: their serialized form is their internal form, and graphql-js's lenient output
 * coercion (an Int answer for a String field) keeps working.
 */
import {
  GraphQLError,
  type GraphQLArgument,
  getNamedType,
  isAbstractType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLLeafType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';

/** Renames a `__typename` crossing the boundary. */
export type Rename = (typeName: string) => string;

/** True if `value` has `key` as its own property (never one inherited from a prototype). */
export function hasOwn(value: unknown, key: string): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key);
}

/** The `__typename` an object carries as its own string property, if any. */
export function ownTypename(value: unknown): string | undefined {
  return hasOwn(value, '__typename') && typeof value.__typename === 'string' ? value.__typename : undefined;
}

type Direction = 'out' | 'in';
type Convert = (value: unknown, rename: Rename) => unknown;

/** The boundary of one composed schema (its types decide what is converted). */
export class Boundary {
  /** Named types whose values may hold something to convert or rename. */
  readonly #converts: Set<GraphQLNamedType>;
  readonly #compiled: Record<Direction, Map<GraphQLOutputType, Convert>> = { in: new Map(), out: new Map() };
  /** Per field, the arguments that need converting. */
  readonly #converting = new Map<GraphQLField<unknown, unknown>, GraphQLArgument[]>();
  readonly #fillers = new Map<string, (plain: Record<string, unknown>, rename: Rename) => Record<string, unknown>>();

  constructor(private readonly schema: GraphQLSchema) {
    this.#converts = convertingTypes(schema);
  }

  /** The arguments of `field` as an extension receives them (serialized). */
  arguments(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): Record<string, unknown> {
    let converting = this.#converting.get(field);
    if (!converting) this.#converting.set(field, (converting = field.args.filter((arg) => this.#needs(arg.type))));
    let out: Record<string, unknown> | undefined;
    for (const arg of converting) {
      if (!hasOwn(args, arg.name)) continue;
      out ??= { ...args };
      out[arg.name] = this.#input(arg.type, args[arg.name]);
    }
    return out ?? args;
  }

  /** A parent object of type `type` as an extension receives it (serialized; `__typename`s in its names). */
  parent(type: GraphQLObjectType, source: unknown, toLocal: Rename): unknown {
    return this.#output(type, source, 'in', toLocal);
  }

  /** An extension's answer for a position of `type`, in the schema's internal values and type names. */
  answer(type: GraphQLOutputType, value: unknown, toSchema: Rename): unknown {
    return this.#output(type, value, 'out', toSchema);
  }

  #needs(type: GraphQLInputType | GraphQLOutputType): boolean {
    return this.#converts.has(getNamedType(type));
  }

  #input(type: GraphQLInputType, value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (isNonNullType(type)) return this.#input(type.ofType, value);
    if (isListType(type)) return Array.isArray(value) ? value.map((item) => this.#input(type.ofType, item)) : this.#input(type.ofType, value);
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = { ...(value as object) };
      for (const [name, field] of Object.entries(type.getFields())) {
        if (hasOwn(value, name) && this.#needs(field.type)) out[name] = this.#input(field.type, value[name]);
      }
      return out;
    }
    return isSpecifiedScalarType(type) ? value : (type as GraphQLLeafType).serialize(value);
  }

  #output(type: GraphQLOutputType, value: unknown, direction: Direction, rename: Rename): unknown {
    return this.#converter(type, direction)(value, rename);
  }

  /**
   * The conversion of values of `type`, compiled once per type and direction: graphql-js's type
   * predicates are too slow (in development builds) to ask for every value of a large answer.
   */
  #converter(type: GraphQLOutputType, direction: Direction): Convert {
    const cache = this.#compiled[direction];
    let convert = cache.get(type);
    if (!convert) cache.set(type, (convert = this.#compile(type, direction)));
    return convert;
  }

  #compile(type: GraphQLOutputType, direction: Direction): Convert {
    if (!this.#needs(type)) return (value) => value;
    if (isNonNullType(type)) return this.#converter(type.ofType, direction);
    let convert: Convert;
    if (isListType(type)) {
      const item = () => this.#converter(type.ofType, direction); // lazily: types may be recursive
      convert = (value, rename) => (Array.isArray(value) ? value.map((v) => item()(v, rename)) : value);
    } else if (isLeafType(type)) {
      convert = (value) => this.#leaf(type, value, direction);
    } else if (isAbstractType(type)) {
      convert = (value, rename) => {
        const plain = toPlain(value);
        const name = ownTypename(plain);
        if (!plain || name === undefined) return value; // the base schema's resolveType decides; nothing to map
        plain.__typename = rename(name);
        const concrete = this.schema.getType(direction === 'out' ? (plain.__typename as string) : name);
        return isObjectType(concrete) ? this.#fields(concrete, direction)(plain, rename) : plain;
      };
    } else {
      const fields = () => this.#fields(type, direction);
      convert = (value, rename) => {
        const plain = toPlain(value);
        return plain ? fields()(plain, rename) : value; // not an object: graphql-js reports it
      };
    }
    return (value, rename) => (value === null || value === undefined || value instanceof Error ? value : convert(value, rename));
  }

  /** Converts, in place, the fields of a plain copy of an object of `type`. */
  #fields(type: GraphQLObjectType, direction: Direction): (plain: Record<string, unknown>, rename: Rename) => Record<string, unknown> {
    const key = `${direction} ${type.name}`;
    let fill = this.#fillers.get(key);
    if (!fill) {
      const fields = Object.values(type.getFields())
        .filter((f) => this.#needs(f.type))
        .map((f) => ({ name: f.name, convert: () => this.#converter(f.type, direction) }));
      fill = (plain, rename) => {
        for (const field of fields) if (hasOwn(plain, field.name)) plain[field.name] = field.convert()(plain[field.name], rename);
        return plain;
      };
      this.#fillers.set(key, fill);
    }
    return fill;
  }

  #leaf(type: GraphQLLeafType, value: unknown, direction: Direction): unknown {
    if (direction === 'in') return type.serialize(value);
    try {
      return type.parseValue(value);
    } catch (e) {
      // At this position only: graphql-js reports an Error value as this field's error.
      return new GraphQLError(`${type.name} cannot represent the extension's value ${JSON.stringify(value)}: ${(e as Error).message}`);
    }
  }
}

/** A copy holding the object's own enumerable properties (what JSON would carry; `toJSON` honoured). */
function toPlain(value: unknown): Record<string, unknown> | undefined {
  if (value instanceof Error) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const json = (value as { toJSON?: unknown }).toJSON;
  const source = typeof json === 'function' ? (json.call(value) as unknown) : value;
  return source !== null && typeof source === 'object' && !Array.isArray(source) ? { ...source } : undefined;
}

/**
 * The named types whose values need a walk: leaf types other than the specified scalars,
 * abstract types (their `__typename` is renamed), and every object or input type with a field
 * (transitively) of one of those. A fixed point, so recursive types are right.
 */
function convertingTypes(schema: GraphQLSchema): Set<GraphQLNamedType> {
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
