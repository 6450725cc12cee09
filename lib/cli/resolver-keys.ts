/**
 * Resolver keys (`'Type.field'`, as the guest SDK's `resolvers` spells them) matched against an
 * extension's SDL. `forge-ext build` runs it on the source (with the keys' positions) and
 * `forge-ext check` on a built component (keys from the SDK's metadata): a key that names no
 * field, or a field the host resolves with `@sql`, would otherwise surface only at query time
 * (as `no resolver for ...` for the real field), or never (the resolver of a SQL field never runs).
 */
import { Kind, parse } from 'graphql';
import { suggestionList } from 'graphql/jsutils/suggestionList.js';
import { SQL_DIRECTIVE } from '../runtime/sql-fields.js';

/** The fields of an SDL, as resolver keys see them. */
export interface SdlFields {
  /** `Type.field` for every field the SDL defines or adds (object and interface types, extensions too). */
  keys: string[];
  /** The keys of the fields marked `@sql`: the host resolves them, no resolver runs. */
  sql: Set<string>;
}

/** The fields of `sdl` (which must parse). */
export function sdlFields(sdl: string): SdlFields {
  const fields: SdlFields = { keys: [], sql: new Set() };
  for (const definition of parse(sdl).definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        for (const field of definition.fields ?? []) {
          const key = `${definition.name.value}.${field.name.value}`;
          fields.keys.push(key);
          if (field.directives?.some((d) => d.name.value === SQL_DIRECTIVE)) fields.sql.add(key);
        }
    }
  }
  return fields;
}

/**
 * Why `key` is not a resolver the extension's SDL (`fields`) can use, undefined when it is: it
 * names no field (the message names the nearest one, GraphQL's own "did you mean" ranking), or
 * a field with `@sql` (the host runs the SQL; the resolver would never run).
 */
export function resolverKeyProblem(key: string, fields: SdlFields): string | undefined {
  if (fields.sql.has(key)) return `resolver "${key}" is for a field the schema resolves with @sql, so it would never run; remove the resolver or the field's @sql`;
  if (fields.keys.includes(key)) return undefined;
  const shape = /^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/.test(key) ? '' : ' (a resolver key is "Type.field")';
  const [nearest] = suggestionList(key, fields.keys);
  const hint = nearest ? `; did you mean "${nearest}"?` : fields.keys.length > 0 ? `; the schema's fields are ${fields.keys.join(', ')}` : '';
  return `resolver "${key}" matches no field in the schema${shape}${hint}`;
}
