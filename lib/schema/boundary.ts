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
 *   names) is mapped to the composed schema's name on the way out and back on the way in. It
 *   must name a possible type of the position that the extension may answer: its own types,
 *   the base schema's, and another extension's only if its SDL uses that type (an extension
 *   cannot make another one resolve an object it forged).
 * - Objects of the extensions' own types are converted lazily, field by field as graphql-js
 *   reads them (their resolvers call {@link Boundary.answer}): what a query does not ask for is
 *   never walked (a 6 MB answer read for one field: ~1.1 s of walking before, none now), and
 *   such an object goes back as a parent exactly as the extension wrote it. Objects of the base
 *   schema's types in an answer are converted at once (the application's resolvers read them).
 * - What the boundary refuses becomes an error at that position only ({@link BadAnswerError},
 *   `EXTENSION_BAD_RESPONSE`); an object sent back as a parent carries the refused value as the
 *   extension wrote it. A base object nested too deeply to walk is refused as a whole; a leaf's
 *   value (a custom scalar's JSON) nested more than `MAX_JSON_DEPTH` (1,000) levels is refused.
 *
 * Only a property that is the object's *own* is a field's value: `constructor` or `toString` on
 * `Object.prototype` never is. The five specified scalars (Int, Float, String, Boolean, ID) are
 * passed through: their serialized form is their internal form, and graphql-js's lenient output
 * coercion (an Int answer for a String field) keeps working.
 */
import {
  type GraphQLArgument,
  getNamedType,
  type GraphQLAbstractType,
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
} from 'graphql';
import { MAX_JSON_DEPTH, valueDepth } from '../data/json-depth.js';
import { ExtensionCallError, messageOf } from '../runtime/errors.js';
import { convertingTypes } from './converting-types.js';
import { hasOwn, ownTypename, shown, toPlain } from './plain-values.js';

/** Renames a `__typename` crossing the boundary. */
export type Rename = (typeName: string) => string;

/** The extension on the other side of the boundary. */
export interface Peer {
  /** Its name (errors name it). */
  extension: string;
  /** Its type names -> the composed schema's (answers). */
  toSchema: Rename;
  /** The composed schema's type names -> its own (parents). */
  toLocal: Rename;
  /** True if it may answer an object of this (composed schema) type at an abstract position. */
  mayAnswer(typeName: string): boolean;
}

/**
 * A value of an extension's answer the boundary refused, at its position (`EXTENSION_BAD_RESPONSE`).
 * `answered` keeps the value as the extension wrote it.
 */
export class BadAnswerError extends ExtensionCallError {
  override name = 'BadAnswerError';
  constructor(
    extension: string,
    message: string,
    readonly answered: unknown,
  ) {
    super('EXTENSION_BAD_RESPONSE', extension, message);
  }
}

type Direction = 'out' | 'in';
type Convert = (value: unknown, peer: Peer) => unknown;

/** The boundary of one composed schema (its types decide what is converted). */
export class Boundary {
  /** Named types whose values may hold something to convert or rename. */
  readonly #converts: Set<GraphQLNamedType>;
  readonly #compiled: Record<Direction, Map<GraphQLOutputType, Convert>> = { in: new Map(), out: new Map() };
  /** Per field, the arguments that need converting. */
  readonly #converting = new Map<GraphQLField<unknown, unknown>, GraphQLArgument[]>();
  readonly #fillers = new Map<string, (plain: Record<string, unknown>, peer: Peer) => Record<string, unknown>>();
  /** Copies of answers' objects at abstract positions, `__typename` checked and mapped -> the object as answered. */
  readonly #typed = new WeakMap<object, object>();
  /** Objects of own types, kept as answered -> who answered them (their fields are read in its names). */
  readonly #writers = new WeakMap<object, Peer>();

  /**
   * @param own the extensions' own types: their objects stay as answered (graphql-js reads
   *   them through the extensions' resolvers, which convert each field's value when it is read:
   *   only what a query asks for is converted, and such an object goes back as a parent as is).
   */
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly own: ReadonlySet<string>,
  ) {
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

  /**
   * A parent object of type `type` as `peer` receives it (serialized; `__typename`s in its
   * names). Throws an `EXTENSION_BAD_REQUEST` {@link ExtensionCallError} if it is nested too
   * deeply to walk (or refers to itself).
   */
  parent(type: GraphQLObjectType, source: unknown, peer: Peer): unknown {
    if (this.own.has(type.name)) return this.#answered(source);
    try {
      return this.#output(type, source, 'in', peer);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new ExtensionCallError('EXTENSION_BAD_REQUEST', peer.extension, `the parent ${type.name} object cannot be sent to extension "${peer.extension}": it is nested too deeply or refers to itself (${e.message})`);
    }
  }

  /**
   * `peer`'s answer for a position of `type`, in the schema's internal values and type names;
   * refused values replaced by a {@link BadAnswerError} (the whole answer if too deeply nested).
   */
  answer(type: GraphQLOutputType, value: unknown, peer: Peer): unknown {
    try {
      return this.#output(type, value, 'out', peer);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      return new BadAnswerError(peer.extension, `the answer for "${peer.toLocal(getNamedType(type).name)}" is nested too deeply to read (${e.message})`, value);
    }
  }

  /**
   * The type an extension's object at an abstract position named (checked, in the schema's
   * names); undefined for any other value (an application's object: its own resolveType decides).
   */
  answeredType(value: unknown): string | undefined {
    return value !== null && typeof value === 'object' && this.#typed.has(value) ? (value as { __typename: string }).__typename : undefined;
  }

  /** Who answered `value`, an object of an extension's own type (possibly another extension that uses the type). */
  writerOf(value: unknown): Peer | undefined {
    return value !== null && typeof value === 'object' ? this.#writers.get(value) : undefined;
  }

  /** An object as the extension answered it (before its `__typename` was mapped). */
  #answered(value: unknown): unknown {
    return (value !== null && typeof value === 'object' && this.#typed.get(value)) || value;
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

  #output(type: GraphQLOutputType, value: unknown, direction: Direction, peer: Peer): unknown {
    return this.#converter(type, direction)(value, peer);
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
      convert = (value, peer) => (Array.isArray(value) ? value.map((v) => item()(v, peer)) : value);
    } else if (isLeafType(type)) {
      convert = (value, peer) => this.#leaf(type, value, direction, peer);
    } else if (isAbstractType(type)) {
      convert = direction === 'in' ? this.#abstractIn() : this.#abstractOut(type);
    } else if (this.own.has(type.name)) {
      // Converted field by field as it is read (see the constructor), in its writer's names.
      convert = (value, peer) => {
        if (typeof value === 'object' && value !== null && !this.#writers.has(value)) this.#writers.set(value, peer);
        return value;
      };
    } else {
      const fields = () => this.#fields(type, direction);
      convert = (value, peer) => {
        const plain = toPlain(value);
        return plain ? fields()(plain, peer) : value; // not an object: graphql-js reports it
      };
    }
    return (value, peer) => {
      if (value === null || value === undefined) return value;
      // A refused value goes back to the extension as it wrote it.
      if (value instanceof Error) return direction === 'in' && value instanceof BadAnswerError ? value.answered : value;
      return convert(value, peer);
    };
  }

  /** A parent's value at an abstract position: its `__typename` back in the extension's names. */
  #abstractIn(): Convert {
    return (value, peer) => {
      const type = this.answeredType(value);
      if (type !== undefined && this.own.has(type)) return this.#answered(value); // as the extension wrote it
      const plain = toPlain(value);
      const name = ownTypename(plain);
      if (!plain || name === undefined) return value;
      plain.__typename = peer.toLocal(name);
      const concrete = this.schema.getType(name);
      return isObjectType(concrete) ? this.#fields(concrete, 'in')(plain, peer) : plain;
    };
  }

  /** An answer's value at an abstract position: its `__typename` checked and mapped to the schema's names. */
  #abstractOut(type: GraphQLAbstractType): Convert {
    return (value, peer) => {
      const plain = toPlain(value);
      if (!plain) return value; // not an object: graphql-js reports it
      if (!hasOwn(plain, '__typename')) return value; // the type's resolveType decides
      const name = plain.__typename;
      const refuse = (why: string) => new BadAnswerError(peer.extension, `__typename ${shown(name)} ${why} for "${peer.toLocal(type.name)}"`, value);
      if (typeof name !== 'string') return refuse('must be a string naming the object\'s type');
      const global = peer.toSchema(name);
      const concrete = this.schema.getType(global);
      if (!isObjectType(concrete) || !this.schema.isSubType(type, concrete) || !peer.mayAnswer(global)) {
        return refuse('is not an object type this extension can answer');
      }
      plain.__typename = global;
      this.#typed.set(plain, value as object);
      if (!this.own.has(global)) return this.#fields(concrete, 'out')(plain, peer);
      this.#writers.set(plain, peer);
      return plain;
    };
  }

  /** Converts, in place, the fields of a plain copy of an object of `type`. */
  #fields(type: GraphQLObjectType, direction: Direction): (plain: Record<string, unknown>, peer: Peer) => Record<string, unknown> {
    const key = `${direction} ${type.name}`;
    let fill = this.#fillers.get(key);
    if (!fill) {
      const fields = Object.values(type.getFields())
        .filter((f) => this.#needs(f.type))
        .map((f) => ({ name: f.name, convert: () => this.#converter(f.type, direction) }));
      fill = (plain, peer) => {
        for (const field of fields) if (hasOwn(plain, field.name)) plain[field.name] = field.convert()(plain[field.name], peer);
        return plain;
      };
      this.#fillers.set(key, fill);
    }
    return fill;
  }

  #leaf(type: GraphQLLeafType, value: unknown, direction: Direction, peer: Peer): unknown {
    if (direction === 'in') return type.serialize(value);
    // A scalar's value is written into the response as it is: one nested deeper than the engine
    // can write would fail the whole response (HTTP 500), at a depth that differs by Node line.
    if (typeof value === 'object' && value !== null && valueDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return new BadAnswerError(peer.extension, `${peer.toLocal(type.name)} cannot represent the extension's value: it is nested more than ${MAX_JSON_DEPTH} levels deep`, value);
    }
    try {
      return type.parseValue(value);
    } catch (e) {
      // At this position only: graphql-js reports an Error value as this field's error.
      return new BadAnswerError(peer.extension, `${peer.toLocal(type.name)} cannot represent the extension's value ${shown(value)}: ${messageOf(e)}`, value);
    }
  }
}
