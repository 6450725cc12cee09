/**
 * The order extensions compose in: an extension that uses a type another extension defines
 * (`extend type Widget`, a field of type `Widget`, `implements Node`) composes after it, so
 * the result never depends on file names or on which file was loaded first. Otherwise the
 * given order stands (the host passes serving extensions first, so a newcomer that clashes
 * with them is the one refused). Extensions that use each other's types in a ring cannot be
 * composed one at a time: each is refused with an error naming the ring.
 */
import { Kind, visit, type DocumentNode } from 'graphql';

const EXTENSION_KINDS: ReadonlySet<string> = new Set([
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_EXTENSION,
  Kind.UNION_TYPE_EXTENSION,
  Kind.ENUM_TYPE_EXTENSION,
  Kind.INPUT_OBJECT_TYPE_EXTENSION,
  Kind.SCALAR_TYPE_EXTENSION,
]);

/** What ordering needs to know of one extension. */
export interface Dependent {
  name: string;
  /** Type names it defines (as the composed schema names them). */
  defines: Iterable<string>;
  /** Type names it uses but does not define. */
  uses: ReadonlySet<string>;
}

/** The result of {@link dependencyOrder}. */
export interface Ordered<T> {
  ordered: T[];
  /** Extensions in a dependency cycle, each with the error that names the cycle. */
  cycles: Array<{ item: T; error: string }>;
}

/** Every type name `document` refers to (fields, arguments, interfaces, members, extended types), minus `own`. */
export function usedTypes(document: DocumentNode, own: Iterable<string>): Set<string> {
  const used = new Set<string>();
  visit(document, {
    enter: (node) => {
      if (node.kind === Kind.NAMED_TYPE || (EXTENSION_KINDS.has(node.kind) && 'name' in node && node.name)) used.add(node.name!.value);
    },
  });
  for (const name of own) used.delete(name);
  return used;
}

/** `items` in dependency order, stable otherwise; see the module comment. */
export function dependencyOrder<T extends Dependent>(items: T[]): Ordered<T> {
  const pending = [...items];
  const ordered: T[] = [];
  const cycles: Ordered<T>['cycles'] = [];
  /** The extensions (still pending) that `item` must follow. */
  const dependencies = (item: T): T[] => {
    const definer = new Map<string, T>();
    for (const other of pending) for (const type of other.defines) if (!definer.has(type)) definer.set(type, other);
    return [...item.uses].map((type) => definer.get(type)).filter((d): d is T => d !== undefined && d !== item);
  };
  while (pending.length > 0) {
    const next = pending.findIndex((item) => dependencies(item).length === 0);
    if (next !== -1) {
      ordered.push(pending.splice(next, 1)[0]!);
      continue;
    }
    // Every pending extension waits for another: follow the first dependency until one repeats.
    const path: T[] = [pending[0]!];
    for (let at = dependencies(pending[0]!)[0]!; !path.includes(at); at = dependencies(at)[0]!) path.push(at);
    const ring = path.slice(path.indexOf(dependencies(path.at(-1)!)[0]!));
    const names = [...ring, ring[0]!].map((item) => item.name).join(' -> ');
    for (const item of ring) {
      cycles.push({ item, error: `extensions use each other's types in a cycle (${names}): they cannot compose` });
      pending.splice(pending.indexOf(item), 1);
    }
  }
  return { ordered, cycles };
}
