/// <reference path="./forge-extension-types.d.ts" />
declare module 'forge:extension/database@0.1.0' {
  /**
   * Runs one statement and returns its rows: a JSON array of objects.
   * `params` is a JSON array (positional `?`) or object (named `:name`).
   */
  export function query(sql: string, params: Json): Json;
  /**
   * Runs one statement and returns `{"changes":n,"lastInsertRowid":n}`.
   */
  export function execute(sql: string, params: Json): Json;
  /**
   * Runs several statements, without parameters.
   */
  export function executeBatch(sql: string): void;
  export type Json = import('forge:extension/types@0.1.0').Json;
}
