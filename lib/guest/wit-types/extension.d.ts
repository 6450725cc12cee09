/// <reference path="./interfaces/forge-extension-database.d.ts" />
/// <reference path="./interfaces/forge-extension-log.d.ts" />
/// <reference path="./interfaces/forge-extension-types.d.ts" />
declare module 'forge:extension/extension@0.1.0' {
  export type ExtensionConfig = import('forge:extension/types@0.1.0').ExtensionConfig;
  export type FieldRequest = import('forge:extension/types@0.1.0').FieldRequest;
  export type Json = import('forge:extension/types@0.1.0').Json;
  export type * as ForgeExtensionDatabase010 from 'forge:extension/database@0.1.0'; // import forge:extension/database@0.1.0
  export type * as ForgeExtensionLog010 from 'forge:extension/log@0.1.0'; // import forge:extension/log@0.1.0
  export type * as ForgeExtensionTypes010 from 'forge:extension/types@0.1.0'; // import forge:extension/types@0.1.0
  /**
  * Called once per instance, before anything else.
  */
  export function init(config: ExtensionConfig): void;
  /**
  * The extension's GraphQL SDL.
  */
  export function getSchema(): string;
  /**
  * Brings the database up to this version's schema. Runs in one transaction.
  */
  export function migrate(dbPath: string): void;
  export function resolveField(request: FieldRequest): Json;
  /**
  * Resolves several fields in one call; one result per request, in order.
  */
  export function resolveBatch(requests: Array<FieldRequest>): Array<Result<Json, string>>;
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}
