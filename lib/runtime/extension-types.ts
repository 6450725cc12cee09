/**
 * The shapes of `Extension`'s API (extension.ts): a field to resolve, a call's options, the state and
 * counters it reports, and what `loadExtension` builds it from.
 */
import type { Backend } from './backend.js';
import type { RequestBudget } from './request-budget.js';
import type { SqlField } from './sql-fields.js';
import type { Isolation, Limits } from './wire.js';

/** One field for an extension to resolve. */
export interface FieldRequest {
  /** The parent type as the extension's SDL names it (`Query`, `Issue`, ...). */
  typeName: string;
  fieldName: string;
  /** The field's arguments. @default {} */
  arguments?: Record<string, unknown>;
  /** The parent object; leave undefined for root fields. Must be JSON-serialisable. */
  parent?: unknown;
  /** The request context the application chose for this extension. @default {} */
  context?: Record<string, unknown>;
  /**
   * The budget of the request this field belongs to (one per request and extension): charged
   * one field now and the answer's bytes when it arrives; once spent, the field fails with
   * `EXTENSION_REQUEST_BUDGET` without being sent. @default no budget
   */
  budget?: RequestBudget;
}

/** Options of a call. */
export interface CallOptions {
  /** Run in a write transaction (a `Mutation` field): committed only if the answer is `ok`. */
  write?: boolean;
}

/** Whether the extension serves calls. */
export type ExtensionState = 'ready' | 'failed' | 'closed';

/** Counters, for status pages and tests. */
export interface ExtensionStats {
  /** wasm calls made (one `resolve-batch` is one call). */
  calls: number;
  /** Fields resolved (requests answered, `ok` or `err`). */
  fields: number;
  crashes: number;
  timeouts: number;
  /** Fields refused because their request went over a budget (`EXTENSION_REQUEST_BUDGET`). */
  refused: number;
}

/** What `Extension` is made from (see `loadExtension`). */
export interface ExtensionParts {
  name: string;
  version: string;
  file: string | undefined;
  sdl: string;
  isolation: Isolation;
  contractVersion: string;
  limits: Limits;
  /** The started instance, and (worker isolation) more of them, started on first use. */
  backends: Backend[];
  /** The SQL resolvers its SDL declares, by `Type.field` (see sql-fields.ts). @default none */
  sqlFields?: ReadonlyMap<string, SqlField>;
  /** Commits the migration its start left open (see `Extension.commitMigration`). @default nothing to commit */
  commit?: () => Promise<void>;
  /** Its database file (absolute): writes wait while a new version holds a migration on it (migration-holds.ts). */
  databasePath?: string;
  /** Ends the hold its load took on {@link databasePath} (see migration-holds.ts): called at commit or close. @default none held */
  endHold?: () => void;
}
