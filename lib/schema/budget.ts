/**
 * Request budgets: how much one GraphQL request may make each extension do.
 *
 * - `maxFields`: selections of the extension's fields in the operation, counted **statically**
 *   before execution, after fragment expansion: each alias counts, a fragment counts each time it
 *   is spread, inline fragments count; a field inside a list counts once; `@skip`/`@include`
 *   are not evaluated (an upper bound). Counted fields are
 *   those that always call the extension: the fields it adds to `Query`, `Mutation` and base
 *   types. (Its own types' fields are usually read from the answer; when one does call, the
 *   runtime count below sees it.) Over budget: the operation is refused before any extension is
 *   called.
 * - `maxResolvedFields`: fields actually sent to the extension during the request, counting every
 *   element of a list (`issues { comments }` is 1 + one per issue). This is what bounds list
 *   multiplicity, which a static count cannot see.
 * - `maxAnswerBytes`: total bytes of the extension's answers during the request (its JSON, before
 *   parsing; each answer is also capped by `limits.maxResponseBytes`).
 * - `maxAnswerValues`: total JSON values in those answers (counted by a byte scan before parsing).
 *   GraphQL completes every value of a list in one synchronous pass (~0.2 µs per value measured
 *   here, idle), so this is what keeps one request from blocking the event loop: the default
 *   100,000 is ~20 ms on an idle core. Bytes bound parsing and serialising: 4 MB of
 *   string-heavy JSON took 38 ms to parse and 25 ms to serialise here on a busy machine, so the
 *   default is 2 MiB (a page of 500 issues with 2 KB bodies is ~1.1 MB).
 *
 * Every refusal is a GraphQL error with `extensions.code` `EXTENSION_REQUEST_BUDGET`, the
 * extension's name, the budget's name, and (static) the count and the budget.
 */
import {
  getNamedType,
  getOperationAST,
  GraphQLError,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { RequestBudget } from '../runtime/request-budget.js';

/** The budgets of one request for one extension. */
export interface RequestBudgets {
  /** Selections of the extension's fields in one operation, counted statically. @default 64 */
  maxFields: number;
  /** Fields resolved by the extension in one request, counting list elements. @default 10000 */
  maxResolvedFields: number;
  /** Bytes of the extension's answers (and of the error messages it answers) in one request. @default 2 MiB */
  maxAnswerBytes: number;
  /** JSON values in the extension's answers in one request. @default 100000 */
  maxAnswerValues: number;
}

export const DEFAULT_REQUEST_BUDGETS: Readonly<RequestBudgets> = {
  maxFields: 64,
  maxResolvedFields: 10_000,
  maxAnswerBytes: 2 * 1024 * 1024,
  maxAnswerValues: 100_000,
};

/** Fills in defaults; a TypeError names a wrong one (`where`.budgets.x). */
export function resolveRequestBudgets(partial: Partial<RequestBudgets> | undefined, where: string): RequestBudgets {
  if (partial !== undefined && (partial === null || typeof partial !== 'object')) throw new TypeError(`${where} must be an object`);
  const budgets = { ...DEFAULT_REQUEST_BUDGETS, ...partial };
  for (const [key, value] of Object.entries(budgets)) {
    if (!(key in DEFAULT_REQUEST_BUDGETS)) throw new TypeError(`${where}.${key} is not a known budget (${Object.keys(DEFAULT_REQUEST_BUDGETS).join(', ')})`);
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${where}.${key} must be a positive integer, not ${JSON.stringify(value)}`);
  }
  return budgets;
}

/** What the budget rules need to know about a composed schema. */
interface SchemaPlan {
  /** type name -> field name -> the extension every selection of it calls. */
  callFields: Map<string, Map<string, string>>;
  policies: ReadonlyMap<string, { budgets: Readonly<RequestBudgets> }>;
  /** Static counts, per document and operation name. */
  counts: WeakMap<DocumentNode, Map<string | undefined, Map<string, number>>>;
}

const plans = new WeakMap<GraphQLSchema, SchemaPlan>();

/** Records, for `schema`, the fields that call each extension and the extensions' policies. */
export function registerBudgetPlan(
  schema: GraphQLSchema,
  callFields: Map<string, Map<string, string>>,
  policies: ReadonlyMap<string, { budgets: Readonly<RequestBudgets> }>,
): void {
  plans.set(schema, { callFields, policies, counts: new WeakMap() });
}

/**
 * Checks the operation's static counts against each extension's `maxFields`: the errors to
 * answer instead of executing (empty when within budget, or the schema has no extensions).
 */
export function checkStaticBudgets(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): GraphQLError[] {
  const plan = plans.get(schema);
  if (!plan) return [];
  const counts = staticCounts(plan, schema, document, operationName ?? undefined);
  const errors: GraphQLError[] = [];
  for (const [extension, count] of counts) {
    const limit = plan.policies.get(extension)?.budgets.maxFields ?? DEFAULT_REQUEST_BUDGETS.maxFields;
    if (count <= limit) continue;
    errors.push(
      new GraphQLError(`the operation selects ${count} fields of extension "${extension}", above its budget of ${limit} (budgets.maxFields); ask for fewer aliases or split the request`, {
        extensions: { code: 'EXTENSION_REQUEST_BUDGET', extension, budget: 'maxFields', count, limit },
      }),
    );
  }
  return errors;
}

function staticCounts(plan: SchemaPlan, schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Map<string, number> {
  let byName = plan.counts.get(document);
  if (!byName) plan.counts.set(document, (byName = new Map()));
  let counts = byName.get(operationName);
  if (counts) return counts;
  counts = new Map();
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (operation && root) {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const counter = new StaticCounter(plan, schema, fragments);
    addInto(counts, counter.count(operation.selectionSet, root));
  }
  // Kept only for an operation the document has: the name is the client's to choose.
  if (operation) byName.set(operationName, counts);
  return counts;
}

/**
 * Counts selections per extension. A fragment's count is computed once and reused at each
 * spread, so nested spreads cost linear time however many selections they expand to.
 */
class StaticCounter {
  readonly #fragmentCounts = new Map<string, Map<string, number>>();

  constructor(
    private readonly plan: SchemaPlan,
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
  ) {}

  count(selectionSet: SelectionSetNode, parent: GraphQLNamedType): Map<string, number> {
    const counts = new Map<string, number>();
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        for (const owner of this.#owners(parent, name)) counts.set(owner, (counts.get(owner) ?? 0) + 1);
        const field = fieldOf(parent, name);
        if (selection.selectionSet && field) addInto(counts, this.count(selection.selectionSet, getNamedType(field.type)));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        if (type) addInto(counts, this.count(selection.selectionSet, type));
      } else {
        addInto(counts, this.#spread(selection.name.value));
      }
    }
    return counts;
  }

  #spread(name: string): Map<string, number> {
    const known = this.#fragmentCounts.get(name);
    if (known) return known;
    this.#fragmentCounts.set(name, new Map()); // a cycle (invalid anyway) counts nothing
    const fragment = this.fragments.get(name);
    const type = fragment && this.schema.getType(fragment.typeCondition.name.value);
    const counts = fragment && type ? this.count(fragment.selectionSet, type) : new Map<string, number>();
    this.#fragmentCounts.set(name, counts);
    return counts;
  }

  /** The extensions a selection of `parent.name` calls (each implementation's, for an abstract parent). */
  #owners(parent: GraphQLNamedType, name: string): Set<string> {
    const types = isAbstractType(parent) ? this.schema.getPossibleTypes(parent) : [parent];
    const owners = new Set<string>();
    for (const type of types) {
      const owner = this.plan.callFields.get(type.name)?.get(name);
      if (owner) owners.add(owner);
    }
    return owners;
  }
}

function fieldOf(type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

function addInto(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

const REQUEST = Symbol('forge-extensions.request');

/** One request's runtime budgets, one per extension it touches. */
interface RequestState {
  [REQUEST]: { schema: GraphQLSchema; budgets: Map<string, RequestBudget> };
}

/**
 * The `rootValue` of one request's execution: carries its runtime budgets to the resolvers. The
 * HTTP handler starts one per request; an execution without one has no runtime budgets.
 */
export function startRequest(schema: GraphQLSchema): RequestState {
  return { [REQUEST]: { schema, budgets: new Map() } };
}

/** The running request's budget for `extension`, if the execution was started with {@link startRequest}. */
export function requestBudget(info: GraphQLResolveInfo, extension: string): RequestBudget | undefined {
  const state = (info.rootValue as Partial<RequestState> | null | undefined)?.[REQUEST];
  if (!state) return undefined;
  let budget = state.budgets.get(extension);
  if (!budget) {
    const budgets = plans.get(state.schema)?.policies.get(extension)?.budgets ?? DEFAULT_REQUEST_BUDGETS;
    state.budgets.set(extension, (budget = new RequestBudget(extension, budgets)));
  }
  return budget;
}
