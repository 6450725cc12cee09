/**
 * Deciding one change of the serving set: which new versions serve, which are refused, which
 * serving extensions stop (a type they used left), and the composed schema with resolvers.
 *
 * Serving extensions are listed first and new versions after them (each group by name), so a
 * newcomer that clashes with a serving extension is the one refused; composition then orders
 * them by dependency (lib/schema/order.ts). A refused new version leaves its previous version
 * in the schema: the set is composed again without it. A new version's migration is committed
 * only once it is accepted ({@link recomposeCommitted}): a refused one leaves none behind.
 */
import type { GraphQLSchema } from 'graphql';
import type { Extension } from '../runtime/extension.js';
import { composeSchema, type Composition } from '../schema/compose.js';
import type { NamespaceMode } from '../schema/namespace.js';
import type { ExtensionPolicy } from '../schema/policy.js';
import { attachResolvers } from '../schema/routing.js';

/** Why an extension did not compose. */
export type Rejection = Composition['rejected'][number];

/** The result of {@link recompose}. */
export interface Recomposition {
  /** The schema to publish, resolvers attached. */
  schema: GraphQLSchema;
  /** Every extension that serves in it. */
  serving: Extension[];
  /** New versions that start serving, in name order. */
  started: Extension[];
  /** {@link started} in the order composition took them: each after those whose types it uses. */
  commitOrder: Extension[];
  /** New versions refused: they never serve. */
  refused: Map<Extension, Rejection>;
  /** Serving extensions that no longer compose: they stop. */
  stopped: Map<Extension, Rejection>;
  /** The type names the started extensions define. */
  defined: Set<string>;
}

/** What {@link recompose} needs to know of the host. */
export interface RecomposeInput {
  base: GraphQLSchema | undefined;
  /** The extensions serving now. */
  serving: Extension[];
  /** New versions. */
  incoming: Extension[];
  /** Names of the extensions whose files were removed. */
  removed: string[];
  /** True if a version of `name` serves now (its refused new version then leaves it serving). */
  isServing(name: string): boolean;
  namespaceOf(name: string): NamespaceMode;
  /** What the application grants each extension (context, budgets). */
  policyOf(name: string): ExtensionPolicy;
}

/** Composes `established` + `incoming`; see the module comment. */
export function recompose(input: RecomposeInput): Recomposition {
  const byName = (a: Extension, b: Extension) => a.name.localeCompare(b.name);
  const compose = (candidates: Extension[]) => {
    // A serving extension stays unless this change replaces or removes it.
    const replaced = new Set([...candidates.map((e) => e.name), ...input.removed]);
    const established = input.serving.filter((e) => !replaced.has(e.name)).sort(byName);
    const all = [...established, ...candidates];
    const composition = composeSchema(
      input.base,
      all.map((ext) => ({ name: ext.name, sdl: ext.sdl, namespace: input.namespaceOf(ext.name) })),
    );
    return { composition, established, all, rejected: new Map(composition.rejected.map((r) => [r.name, r])) };
  };
  let candidates = [...input.incoming].sort(byName);
  let composed = compose(candidates);
  const refused = new Map<Extension, Rejection>();
  const refuse = () => {
    for (const ext of candidates) if (composed.rejected.has(ext.name)) refused.set(ext, composed.rejected.get(ext.name)!);
    candidates = candidates.filter((ext) => !refused.has(ext));
  };
  refuse();
  if ([...refused.keys()].some((ext) => input.isServing(ext.name))) {
    // Compose again without them: their serving versions stay.
    composed = compose(candidates);
    refuse();
  }
  const { composition, established, all, rejected } = composed;
  const serving = all.filter((ext) => !rejected.has(ext.name));
  attachResolvers(composition.schema, composition.accepted, new Map(serving.map((e) => [e.name, e])), input.policyOf);
  const started = new Set(candidates.map((ext) => ext.name));
  const order = new Map(composition.accepted.map((a, i) => [a.name, i]));
  return {
    schema: composition.schema,
    serving,
    started: candidates,
    commitOrder: [...candidates].sort((a, b) => order.get(a.name)! - order.get(b.name)!),
    refused,
    stopped: new Map(established.filter((ext) => rejected.has(ext.name)).map((ext) => [ext, rejected.get(ext.name)!])),
    defined: new Set(composition.accepted.filter((a) => started.has(a.name)).flatMap((a) => [...a.ownTypes.values()])),
  };
}

/**
 * {@link recompose}, then commits the migrations of the versions that start serving (loaded with
 * `holdMigration`; until then nothing they migrated stands), one at a time in the order
 * composition took them: each after the versions whose types it uses. A version whose commit
 * fails (a storage fault, its process gone) is in `failed` with its `ExtensionLoadError` (step
 * `migrate`; it closed itself), and the set is composed again without it before any later one
 * commits: its previous version keeps serving, and a version that used a type only it defined is
 * refused with its migration rolled back. (Left: a version committed before the failure that
 * clashes with the failed one's previous version, now back, is refused with its migration kept.)
 */
export async function recomposeCommitted(input: RecomposeInput): Promise<{ change: Recomposition; failed: Map<Extension, Error> }> {
  const failed = new Map<Extension, Error>();
  recomposing: for (;;) {
    const change = recompose({ ...input, incoming: input.incoming.filter((ext) => !failed.has(ext)) });
    for (const ext of change.commitOrder) {
      try {
        await ext.commitMigration(); // nothing to do for one committed in an earlier round
      } catch (e) {
        failed.set(ext, e as Error);
        continue recomposing;
      }
    }
    return { change, failed };
  }
}
