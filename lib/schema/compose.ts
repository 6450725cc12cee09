/**
 * Composition: the application's base schema plus each extension's SDL, one extension at a
 * time, so a problem is always attributed to the extension that caused it.
 *
 * Every extension's SDL is parsed (syntax errors with line and column) and namespaced; then, in
 * dependency order (lib/schema/order.ts), each gets: a clash check against every earlier owner
 * (graphql-js would silently merge same-named types) -> SDL validation against the schema so
 * far -> `extendSchema` -> `validateSchema`. An extension
 * that fails any step is rejected on its own; the others still compose. `extendSchema` copies
 * the base types' configs, so the application's resolvers keep working untouched.
 */
import { extendSchema, getNullableType, GraphQLError, GraphQLSchema, isLeafType, Kind, parse, validateSchema, type DocumentNode } from 'graphql';
import { validateSDL } from 'graphql/validation/validate.js';
import { dependencyOrder, usedTypes } from './order.js';
import { namespaceSdl, typePrefix, type NamespacedSdl, type NamespaceMode } from './namespace.js';

/** One extension's SDL, as composition takes it. */
export interface SchemaInput {
  name: string;
  sdl: string;
  namespace: NamespaceMode;
}

/** An extension that composed: how its names map. */
export interface ComposedExtension extends NamespacedSdl {
  name: string;
}

/** The result of {@link composeSchema}. */
export interface Composition {
  schema: GraphQLSchema;
  accepted: ComposedExtension[];
  /** Refused extensions; `uses`: the types their SDL uses but does not define (empty if it did not parse). */
  rejected: Array<{ name: string; error: Error; uses: ReadonlySet<string> }>;
}

/** Thrown (as a rejection) when an extension's SDL cannot be composed. */
export class CompositionError extends Error {
  override name = 'CompositionError';
}

/** Present only while no extension adds a field to its root type (GraphQL needs at least one). */
const PLACEHOLDER = '_empty';
const BASE_OWNER = 'the application schema';

/**
 * Composes `inputs` onto `base`: an input that uses types another input defines after it
 * ({@link dependencyOrder}), otherwise in the order given. A later input that clashes with an
 * earlier one is rejected.
 */
export function composeSchema(base: GraphQLSchema | undefined, inputs: SchemaInput[]): Composition {
  if (base) {
    const invalid = validateSchema(base);
    if (invalid.length > 0) throw new TypeError(`the base schema is invalid: ${invalid.map((e) => e.message).join('; ')}`);
  }
  let current = withRoots(base);
  const rootNames = { Query: current.getQueryType()!.name, Mutation: current.getMutationType()!.name };
  const typeOwner = new Map<string, string>();
  const fieldOwner = new Map<string, string>();
  for (const type of Object.values(current.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    typeOwner.set(type.name, BASE_OWNER);
    if ('getFields' in type) for (const field of Object.keys(type.getFields())) fieldOwner.set(`${type.name}.${field}`, BASE_OWNER);
  }

  const accepted: ComposedExtension[] = [];
  const rejected: Composition['rejected'] = [];
  const reject = (input: SchemaInput, e: unknown, uses?: ReadonlySet<string>, hint = '') => {
    const error = e instanceof GraphQLError || e instanceof CompositionError ? e : new CompositionError(String((e as Error).message ?? e));
    rejected.push({ name: input.name, error: new CompositionError(`extension "${input.name}": ${describe(error, input)}${hint}`), uses: uses ?? new Set() });
  };
  const prepared: Array<{ input: SchemaInput; namespaced: NamespacedSdl; name: string; defines: Iterable<string>; uses: ReadonlySet<string> }> = [];
  for (const input of inputs) {
    try {
      const namespaced = namespaceSdl(parseSdl(input.sdl), input.namespace === 'prefix' ? typePrefix(input.name) : '', rootNames);
      const defines = [...namespaced.ownTypes.values()];
      prepared.push({ input, namespaced, name: input.name, defines, uses: usedTypes(namespaced.document, defines) });
    } catch (e) {
      reject(input, e);
    }
  }
  const { ordered, cycles } = dependencyOrder(prepared);
  /** Types defined by extensions refused so far, by type: their dependents' errors name them. */
  const refusedDefiner = new Map<string, string>();
  const refuse = (item: (typeof prepared)[number], e: unknown, inCycle = false) => {
    const missing = inCycle ? undefined : [...item.uses].find((type) => refusedDefiner.has(type));
    reject(item.input, e, item.uses, missing === undefined ? '' : `; type "${missing}" is defined by extension "${refusedDefiner.get(missing)}", which did not compose`);
    for (const type of item.defines) if (!refusedDefiner.has(type)) refusedDefiner.set(type, item.name);
  };
  for (const { item, error } of cycles) refuse(item, new CompositionError(error), true);
  for (const item of ordered) {
    const { input, namespaced } = item;
    const owner = `extension "${input.name}"`;
    try {
      checkClashes(namespaced, owner, typeOwner, fieldOwner);
      current = extend(current, namespaced);
      checkSqlParentKeys(current, namespaced, (type, field) => fieldOwner.get(`${type}.${field}`) === typeOwner.get(type));
      for (const type of namespaced.ownTypes.values()) typeOwner.set(type, owner);
      for (const [type, fields] of namespaced.addedFields) for (const f of fields) fieldOwner.set(`${type}.${f}`, owner);
      for (const type of namespaced.ownTypes.values()) {
        const t = current.getType(type);
        if (t && 'getFields' in t) for (const f of Object.keys(t.getFields())) fieldOwner.set(`${type}.${f}`, owner);
      }
      accepted.push({ name: input.name, ...namespaced });
    } catch (e) {
      refuse(item, e);
    }
  }
  // Reported in the order given, whatever stage refused them.
  const position = new Map(inputs.map((input, i) => [input.name, i]));
  rejected.sort((a, b) => position.get(a.name)! - position.get(b.name)!);
  return { schema: finalSchema(base, accepted, rootNames), accepted, rejected };
}

function parseSdl(sdl: string): DocumentNode {
  try {
    return parse(sdl, { noLocation: false });
  } catch (e) {
    throw e instanceof GraphQLError ? new GraphQLError(`invalid SDL: ${e.message.replace(/^Syntax Error: /, 'syntax error: ')}`, { source: e.source, positions: e.positions }) : e;
  }
}

function checkClashes(sdl: NamespacedSdl, owner: string, typeOwner: Map<string, string>, fieldOwner: Map<string, string>): void {
  for (const [local, type] of sdl.ownTypes) {
    const other = typeOwner.get(type);
    if (other) throw new CompositionError(`type "${type}"${local !== type ? ` (its "${local}")` : ''} is already defined by ${other}`);
  }
  for (const [type, fields] of sdl.addedFields) {
    for (const field of fields) {
      const other = fieldOwner.get(`${type}.${field}`);
      if (other) throw new CompositionError(`field "${type}.${field}" is already defined by ${other}`);
    }
  }
}

/** Validates the extension's SDL against the schema so far, then extends it. */
function extend(schema: GraphQLSchema, sdl: NamespacedSdl): GraphQLSchema {
  const errors = validateSDL(sdl.document, schema);
  if (errors.length > 0) throw errors[0]!;
  const next = extendSchema(schema, sdl.document, { assumeValidSDL: true });
  const invalid = validateSchema(next);
  if (invalid.length > 0) throw invalid[0]!;
  return next;
}

/**
 * A keyed SQL resolver on a type it does not define (`extend type User { notes: ... @sql(parentKey: "id") }`)
 * takes its parents' keys from a field of that type: one its owner declares (a field an extension
 * added is never a property of the owner's objects: see projection.ts), holding one value that
 * can be a key (a string or a number: not a list, an object or a Boolean).
 */
function checkSqlParentKeys(schema: GraphQLSchema, sdl: NamespacedSdl, ownersField: (type: string, field: string) => boolean): void {
  for (const { type, field, parentKey, node } of sdl.sqlParentKeys) {
    const fail = (message: string): never => {
      throw new GraphQLError(`${type}.${field} @sql: parentKey "${parentKey}" ${message}`, { nodes: node });
    };
    const parentType = schema.getType(type);
    const keyField = parentType && 'getFields' in parentType ? parentType.getFields()[parentKey] : undefined;
    if (!keyField) fail(`is not a field of ${type}`);
    if (sdl.addedFields.get(type)?.includes(parentKey) || !ownersField(type, parentKey)) fail(`is a field an extension adds to ${type}, not one ${type}'s own objects hold`);
    const keyType = getNullableType(keyField!.type);
    if (!isLeafType(keyType) || keyType.name === 'Boolean') fail(`must be an ID, String, Int, Float, enum or custom scalar field of ${type}, not ${String(keyField!.type)}`);
  }
}

/** The error text for an extension: its own type names (not prefixed), and where in its SDL. */
function describe(error: Error, input: SchemaInput): string {
  let message = error.message;
  if (input.namespace === 'prefix') message = message.replaceAll(typePrefix(input.name), '');
  const location = error instanceof GraphQLError ? error.locations?.[0] : undefined;
  return location ? `${message} (SDL line ${location.line}, column ${location.column})` : message;
}

/**
 * The base schema with a Query and a Mutation root (placeholders where it has none), so every
 * extension can `extend type Query` / `extend type Mutation` while it is validated.
 */
function withRoots(base: GraphQLSchema | undefined): GraphQLSchema {
  const schema = base ?? new GraphQLSchema({});
  const additions = rootAdditions(schema, { query: 'placeholder', mutation: 'placeholder' });
  return additions ? extendSchema(schema, parse(additions), { assumeValidSDL: true }) : schema;
}

/**
 * The schema to serve: the base plus every accepted extension, in one step. A root the base
 * lacks is added only if an extension uses it; a placeholder field only if the Query root would
 * otherwise be empty.
 */
function finalSchema(base: GraphQLSchema | undefined, accepted: ComposedExtension[], roots: { Query: string; Mutation: string }): GraphQLSchema {
  const schema = base ?? new GraphQLSchema({});
  const extended = (root: string) => accepted.some((a) => a.addedFields.has(root));
  const additions = rootAdditions(schema, {
    query: extended(roots.Query) ? 'empty' : 'placeholder',
    mutation: extended(roots.Mutation) ? 'empty' : false,
  });
  const definitions = [...(additions ? parse(additions).definitions : []), ...accepted.flatMap((a) => a.document.definitions)];
  return definitions.length ? extendSchema(schema, { kind: Kind.DOCUMENT, definitions }, { assumeValidSDL: true }) : schema;
}

/**
 * SDL adding the roots `schema` lacks: `'empty'` when extensions fill it, `'placeholder'` with
 * one field (GraphQL needs at least one per type), `false` not at all.
 */
function rootAdditions(schema: GraphQLSchema, add: { query: RootAddition; mutation: RootAddition }): string {
  const type = (name: string, how: RootAddition) => `type ${name}${how === 'placeholder' ? ` { ${PLACEHOLDER}: Boolean }` : ''}`;
  const sdl: string[] = [];
  if (add.query && !schema.getQueryType()) sdl.push(type('Query', add.query), 'extend schema { query: Query }');
  if (add.mutation && !schema.getMutationType()) {
    const name = schema.getType('Mutation') ? 'ForgeMutation' : 'Mutation';
    sdl.push(type(name, add.mutation), `extend schema { mutation: ${name} }`);
  }
  return sdl.join('\n');
}
type RootAddition = 'empty' | 'placeholder' | false;
