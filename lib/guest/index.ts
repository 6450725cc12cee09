/**
 * The guest SDK, `forge-extensions/guest`: write an extension as a schema, migrations and
 * resolvers; `defineExtension` implements the contract (`init`, `get-schema`, `migrate`,
 * `resolve-field`, `resolve-batch`) around them. It runs *inside* the component and depends on
 * nothing of the host. `forge-ext build` bundles it with your code.
 *
 * ```ts
 * import { defineExtension } from 'forge-extensions/guest';
 *
 * export default defineExtension({
 *   schema: `type Note { id: ID! text: String! } extend type Query { notes: [Note!]! }`,
 *   migrations: ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)'],
 *   resolvers: { 'Query.notes': (_args, { db }) => db.query('SELECT id, text FROM notes') },
 * });
 * ```
 */
import type { ExtensionConfig, FieldRequest } from 'forge:extension/types@0.1.0';
import { log as rawLog } from 'forge:extension/log@0.1.0';
import { database, RawJson, type Database } from './database.js';
import { SDK_METADATA_TYPE, SDK_RESOLVER_KEYS_FIELD } from './metadata.js';
import { applyMigrations } from './migrations.js';

export { DatabaseError, RawJson, type Database, type ExecuteResult, type SqlParams } from './database.js';
export { sql, SqlDirectiveError, type SqlOptions } from './sql.js';

/** Field arguments, as GraphQL coerced them. */
export type Args = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Log lines, tagged with the extension's name by the host. */
export interface Log {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What every resolver (and `init`) can use. */
export interface ExtensionContext<Config> {
  /** The application's configuration for this extension (`extensions.<name>.config`), or `{}`. */
  config: Config;
  /** The extension's own SQLite database. */
  db: Database;
  log: Log;
}

/** What one resolver call gets besides its arguments. */
export interface ResolverContext<Config> extends ExtensionContext<Config> {
  /** The parent object; undefined for root fields (`Query`, `Mutation`). */
  parent: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The request context the application chose. */
  context: Record<string, unknown>;
  typeName: string;
  fieldName: string;
}

/** One call of a field, as a batch resolver receives it. */
export interface FieldCall {
  args: Args;
  parent: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  context: Record<string, unknown>;
}

/** Resolves one call. Return the value (JSON-serialisable) or throw to fail the field. Must be synchronous. */
export type Resolver<Config> = (args: Args, ctx: ResolverContext<Config>) => unknown;

/**
 * Resolves many calls of one field at once (e.g. `Issue.comments` of 50 issues with one query).
 * Returns one answer per call, in order; an answer that is an `Error` fails that call only.
 */
export interface BatchResolver<Config> {
  batch: (calls: FieldCall[], ctx: ExtensionContext<Config> & { typeName: string; fieldName: string }) => unknown[];
}

/** Resolvers by `Type.field`. */
export type Resolvers<Config> = Record<string, Resolver<Config> | BatchResolver<Config>>;

/** An extension, described. */
export interface ExtensionDefinition<Config = Record<string, unknown>> {
  /**
   * GraphQL SDL: own types, and `extend type Query / Mutation / <BaseType>`. Or a function of the config.
   * A field marked with {@link sql}`(...)` is resolved by the host with SQL: it needs no resolver.
   */
  schema: string | ((config: Config) => string);
  /** SQL scripts, applied once each, in order. Append new ones; never edit applied ones. */
  migrations?: readonly string[];
  /**
   * Resolvers by `Type.field`, with the type names as your schema writes them (none for a field
   * with `@sql`). Or a function of the config, for a schema whose fields depend on it: it runs
   * once, after `init`.
   */
  resolvers: Resolvers<Config> | ((config: Config) => Resolvers<Config>);
  /** Runs once per instance, after the config is read. */
  init?: (ctx: ExtensionContext<Config>) => void;
}

/** The contract's exports, as componentize-js expects them. */
export interface ExtensionExports {
  init(config: ExtensionConfig): void;
  getSchema(): string;
  migrate(dbPath: string): void;
  resolveField(request: FieldRequest): Uint8Array;
  resolveBatch(requests: FieldRequest[]): Array<{ tag: 'ok'; val: Uint8Array } | { tag: 'err'; val: string }>;
}

/** An error whose message is meant for the client (any thrown error's message reaches it anyway). */
export class ExtensionError extends Error {
  override name = 'ExtensionError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const parse = (bytes: Uint8Array): any => JSON.parse(decoder.decode(bytes)); // eslint-disable-line @typescript-eslint/no-explicit-any
/** A resolver's answer as JSON bytes; raw JSON from `db.json` crosses as it is. */
const encode = (value: unknown): Uint8Array =>
  value instanceof RawJson ? value.bytes : encoder.encode(JSON.stringify(value === undefined ? null : value));

/**
 * One call's request, parsed only when read: JavaScript runs interpreted inside a component,
 * so a batch resolver that reads only `parent.id` should not pay for parsing every context.
 */
class Call implements FieldCall {
  #args: Args | undefined;
  #parent: unknown;
  #context: Record<string, unknown> | undefined;
  constructor(private readonly request: FieldRequest) {}
  get args(): Args {
    return (this.#args ??= parse(this.request.arguments));
  }
  get parent(): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.#parent === undefined && this.request.parent) this.#parent = parse(this.request.parent);
    return this.#parent;
  }
  get context(): Record<string, unknown> {
    return (this.#context ??= parse(this.request.context));
  }
}

/** A resolver's context: the extension's, plus its call's lazily parsed parent and context. */
class CallContext<Config> implements ResolverContext<Config> {
  constructor(
    private readonly base: ExtensionContext<Config>,
    private readonly call: Call,
    readonly typeName: string,
    readonly fieldName: string,
  ) {}
  get config(): Config {
    return this.base.config;
  }
  get db(): Database {
    return this.base.db;
  }
  get log(): Log {
    return this.base.log;
  }
  get parent(): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.call.parent;
  }
  get context(): Record<string, unknown> {
    return this.call.context;
  }
}

export const log: Log = {
  trace: (m) => rawLog('trace', m),
  debug: (m) => rawLog('debug', m),
  info: (m) => rawLog('info', m),
  warn: (m) => rawLog('warn', m),
  error: (m) => rawLog('error', m),
};

/**
 * The `err` text for anything thrown. Only strings cross as `err` (anything else would trap the
 * instance), so every error is turned into its message here. SpiderMonkey's own "out of memory"
 * keeps its exact text: the host reports it as EXTENSION_MEMORY_LIMIT.
 */
function errText(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Builds the contract's exports from a definition. `export default defineExtension({...})`. */
export function defineExtension<Config = Record<string, unknown>>(definition: ExtensionDefinition<Config>): ExtensionExports {
  let base: ExtensionContext<Config> = { config: {} as Config, db: database, log };
  /** The resolvers for the config (a function of it runs once, after init). */
  let resolvers: Resolvers<Config> | undefined;
  const currentResolvers = () =>
    (resolvers ??= typeof definition.resolvers === 'function' ? definition.resolvers(base.config) : definition.resolvers);
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw errText(e);
    }
  };
  const resolverFor = (typeName: string, fieldName: string) => {
    const resolver = currentResolvers()[`${typeName}.${fieldName}`];
    if (!resolver) throw new ExtensionError(`no resolver for ${typeName}.${fieldName}`);
    return resolver;
  };
  const settle = (value: unknown): unknown => {
    if (value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function')) {
      throw new ExtensionError('resolvers must be synchronous: the extension contract has no async calls');
    }
    if (value instanceof Error) throw value;
    return value;
  };
  /** Answers `requests` (all for one field) in order: a batch resolver at once, others one by one. */
  const answerGroup = (requests: FieldRequest[]): Array<{ ok: unknown } | { err: string }> => {
    const { typeName, fieldName } = requests[0]!;
    const resolver = resolverFor(typeName, fieldName);
    const calls = requests.map((r) => new Call(r));
    if (typeof resolver !== 'function') {
      const answers = resolver.batch(calls, { ...base, typeName, fieldName });
      if (!Array.isArray(answers) || answers.length !== calls.length) {
        throw new ExtensionError(`${typeName}.${fieldName}: a batch resolver must return one answer per call (${calls.length})`);
      }
      return answers.map((a) => {
        try {
          return { ok: settle(a) };
        } catch (e) {
          return { err: errText(e) };
        }
      });
    }
    return calls.map((call) => {
      try {
        return { ok: settle(resolver(call.args, new CallContext(base, call, typeName, fieldName))) };
      } catch (e) {
        return { err: errText(e) };
      }
    });
  };

  return {
    init(config) {
      guard(() => {
        base = { ...base, config: (config.config ? parse(config.config) : {}) as Config };
        resolvers = undefined;
        definition.init?.(base);
        currentResolvers();
      });
    },
    getSchema() {
      return typeof definition.schema === 'function' ? definition.schema(base.config) : definition.schema;
    },
    migrate() {
      guard(() => {
        const ran = applyMigrations(database, definition.migrations ?? []);
        if (ran > 0) log.info(`applied ${ran} migration${ran === 1 ? '' : 's'}`);
      });
    },
    resolveField(request) {
      // Tooling's question (see metadata.ts); no query can ask it.
      if (request.typeName === SDK_METADATA_TYPE && request.fieldName === SDK_RESOLVER_KEYS_FIELD) return encode(Object.keys(currentResolvers()));
      const [answer] = guard(() => answerGroup([request]));
      if ('err' in answer!) throw answer.err;
      return guard(() => encode(answer!.ok));
    },
    resolveBatch(requests) {
      const results: Array<{ tag: 'ok'; val: Uint8Array } | { tag: 'err'; val: string }> = new Array(requests.length);
      const groups = new Map<string, number[]>();
      requests.forEach((r, i) => {
        const key = `${r.typeName}.${r.fieldName}`;
        const group = groups.get(key);
        if (group) group.push(i);
        else groups.set(key, [i]);
      });
      for (const indices of groups.values()) {
        let answers: Array<{ ok: unknown } | { err: string }>;
        try {
          answers = answerGroup(indices.map((i) => requests[i]!));
        } catch (e) {
          answers = indices.map(() => ({ err: errText(e) }));
        }
        indices.forEach((index, k) => {
          const answer = answers[k]!;
          if ('err' in answer) results[index] = { tag: 'err', val: answer.err };
          else {
            try {
              results[index] = { tag: 'ok', val: encode(answer.ok) };
            } catch (e) {
              results[index] = { tag: 'err', val: errText(e) };
            }
          }
        });
      }
      return results;
    },
  };
}
