/**
 * Resolver keys (`'Type.field'`, as the guest SDK's `resolvers` spells them) matched against an
 * extension's SDL. `forge-ext build` runs it on the source (with the keys' positions) and
 * `forge-ext check` on a built component (keys from the SDK's metadata): a key that names no
 * field would otherwise surface only at query time, as `no resolver for ...` for the real field.
 */
import { Kind, parse } from 'graphql';
import { suggestionList } from 'graphql/jsutils/suggestionList.js';

/** `Type.field` for every field an SDL defines or adds (object and interface types, extensions too). */
export function sdlFieldKeys(sdl: string): string[] {
  const keys: string[] = [];
  for (const definition of parse(sdl).definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        for (const field of definition.fields ?? []) keys.push(`${definition.name.value}.${field.name.value}`);
    }
  }
  return keys;
}

/**
 * Why `key` names no field of an SDL whose fields are `fieldKeys`, naming the nearest field
 * (GraphQL's own "did you mean" ranking); undefined when it names one.
 */
export function resolverKeyProblem(key: string, fieldKeys: readonly string[]): string | undefined {
  if (fieldKeys.includes(key)) return undefined;
  const shape = /^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/.test(key) ? '' : ' (a resolver key is "Type.field")';
  const [nearest] = suggestionList(key, [...fieldKeys]);
  const hint = nearest ? `; did you mean "${nearest}"?` : fieldKeys.length > 0 ? `; the schema's fields are ${fieldKeys.join(', ')}` : '';
  return `resolver "${key}" matches no field in the schema${shape}${hint}`;
}
