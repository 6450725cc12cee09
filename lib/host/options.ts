/**
 * The host's options: declared, documented and validated here, once. A wrong option is a
 * `TypeError` at construction time that names the option and what it accepts.
 */
import { isSchema, type GraphQLSchema } from 'graphql';
import { assertExtensionName } from '../data/names.js';
import type { Isolation } from '../runtime/load.js';
import { checkIsolation, checkWorkers, resolveLimits, type LoadExtensionOptions } from '../runtime/load.js';
import { consoleLogger, LOG_LEVELS, type Logger } from '../runtime/logger.js';
import type { Limits } from '../runtime/wire.js';
import { resolveRequestBudgets, type RequestBudgets } from '../schema/budget.js';
import type { NamespaceMode } from '../schema/namespace.js';
import { checkContextGrant, type ContextGrant, type ExtensionPolicy } from '../schema/policy.js';

/** Settings for one extension, by name, overriding the global ones. */
export interface ExtensionSettings {
  /** Handed to the extension's `init` as JSON. Must be JSON-serialisable. */
  config?: unknown;
  /** `false`: the file is ignored (and its database left alone). @default true */
  enabled?: boolean;
  /** Overrides {@link HostOptions.namespace} for this extension. */
  namespace?: NamespaceMode;
  /** Overrides {@link HostOptions.isolation} for this extension. */
  isolation?: Isolation;
  /** Overrides {@link HostOptions.limits} (merged field by field). */
  limits?: Partial<Limits>;
  /** Overrides {@link HostOptions.workers} for this extension. */
  workers?: number;
  /** Overrides {@link HostOptions.budgets} for this extension (merged field by field). */
  budgets?: Partial<RequestBudgets>;
  /**
   * The part of the request context this extension receives: a list of keys, or a function
   * `(ctx) => object`. Least privilege: an extension not granted anything receives `{}`.
   * Never grant credentials (an `Authorization` header, a session token) to an extension that
   * does not need them: it may keep them and hand them to another client.
   * @default [] (nothing)
   */
  context?: ContextGrant;
}

/** Options of {@link createExtensionHost}. */
export interface HostOptions {
  /**
   * The application's executable base schema. Extensions add to it (`extend type Query`,
   * `extend type Repository`); its resolvers keep working. Default: an empty `Query`.
   */
  schema?: GraphQLSchema;
  /** Directory of the extensions' databases (`forge_ext_<name>.db`). @default './data' */
  dataDir?: string;
  /** Directory of transpiled components, keyed by sha256. @default `<dataDir>/.cache` */
  cacheDir?: string;
  /**
   * `'prefix'`: an extension's own types are prefixed with its name (`issues`: `Issue` ->
   * `Issues_Issue`), so two extensions can both have an `Item`. `'none'`: names are kept; a
   * clash is then an error.
   * @default 'prefix'
   */
  namespace?: NamespaceMode;
  /**
   * Where extensions run. `'process'`: each instance in its own child process with its own
   * database connection; a deadline is SIGKILL, so it stops anything (a runaway SQL statement
   * too), and the OS caps its memory (`limits.processMemoryMb`). `'worker'`: its own thread;
   * cheaper, but a running SQL statement cannot be stopped (the call still fails at its
   * deadline). `'inline'`: the main thread, no deadline: trusted extensions only.
   * @default 'process'
   */
  isolation?: Isolation;
  /** Resource limits of every extension (see {@link Limits}). */
  limits?: Partial<Limits>;
  /**
   * Process and worker isolation: instances per extension that may run its calls in parallel
   * (each in its own process or thread, started on first need, each with its own memory and
   * database connection). @default 1
   */
  workers?: number;
  /**
   * What one request may make each extension do (see `RequestBudgets`): field selections counted
   * statically (`maxFields`, default 64), fields resolved counting list items (`maxResolvedFields`,
   * default 10000), answer bytes (`maxAnswerBytes`, default 2 MiB) and answer JSON values (`maxAnswerValues`,
   * default 100000). Over budget: that
   * request's fields fail with `EXTENSION_REQUEST_BUDGET`; nothing else is affected. Enforced by
   * the HTTP handler.
   */
  budgets?: Partial<RequestBudgets>;
  /** Per-extension settings, by extension name. */
  extensions?: Record<string, ExtensionSettings>;
  /** A pino-compatible logger. @default a console logger for warnings and errors */
  logger?: Logger;
  /** Reload extensions when their files change. @default true unless NODE_ENV=production */
  watch?: boolean;
}

/** {@link HostOptions} with every default applied. */
export interface ResolvedHostOptions {
  schema: GraphQLSchema | undefined;
  dataDir: string;
  cacheDir: string | undefined;
  namespace: NamespaceMode;
  isolation: Isolation;
  limits: Partial<Limits>;
  workers: number;
  budgets: Partial<RequestBudgets>;
  extensions: Record<string, ExtensionSettings>;
  logger: Logger;
  watch: boolean;
}

export const HOST_KEYS = ['schema', 'dataDir', 'cacheDir', 'namespace', 'isolation', 'limits', 'workers', 'budgets', 'extensions', 'logger', 'watch'] as const;
const EXTENSION_KEYS = ['config', 'enabled', 'namespace', 'isolation', 'limits', 'workers', 'budgets', 'context'] as const;

/** Throws a TypeError for a key of `object` that is not in `known`. */
export function assertKnownKeys(object: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) throw new TypeError(`${where}: unknown option "${key}" (known: ${known.join(', ')})`);
  }
}

/** Validates `options` and applies the defaults. */
export function resolveHostOptions(options: HostOptions): ResolvedHostOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('forge-extensions: options must be an object');
  assertKnownKeys(options, HOST_KEYS, 'forge-extensions');
  if (options.schema !== undefined && !isSchema(options.schema)) {
    throw new TypeError('forge-extensions: options.schema must be a GraphQLSchema (e.g. from makeExecutableSchema or buildSchema)');
  }
  for (const key of ['dataDir', 'cacheDir'] as const) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === '')) {
      throw new TypeError(`forge-extensions: options.${key} must be a non-empty path`);
    }
  }
  checkNamespace(options.namespace, 'options.namespace');
  checkIsolation(options.isolation, 'forge-extensions: options.isolation');
  checkLimits(options.limits, 'options.limits');
  checkWorkers(options.workers, 'forge-extensions: options.workers');
  resolveRequestBudgets(options.budgets, 'forge-extensions: options.budgets');
  if (options.watch !== undefined && typeof options.watch !== 'boolean') throw new TypeError('forge-extensions: options.watch must be a boolean');
  const logger = options.logger ?? consoleLogger();
  for (const level of LOG_LEVELS) {
    if (typeof logger[level] !== 'function') throw new TypeError(`forge-extensions: options.logger must have a ${level}() method (pino-compatible)`);
  }

  const extensions = options.extensions ?? {};
  if (typeof extensions !== 'object') throw new TypeError('forge-extensions: options.extensions must be an object keyed by extension name');
  for (const [name, settings] of Object.entries(extensions)) {
    const where = `options.extensions.${name}`;
    try {
      assertExtensionName(name);
    } catch (e) {
      throw new TypeError(`forge-extensions: ${where}: ${(e as Error).message}`);
    }
    assertKnownKeys(settings, EXTENSION_KEYS, `forge-extensions: ${where}`);
    if (settings.enabled !== undefined && typeof settings.enabled !== 'boolean') throw new TypeError(`forge-extensions: ${where}.enabled must be a boolean`);
    checkNamespace(settings.namespace, `${where}.namespace`);
    checkIsolation(settings.isolation, `forge-extensions: ${where}.isolation`);
    if (settings.limits !== undefined) checkLimits({ ...options.limits, ...settings.limits }, `${where}.limits`);
    checkWorkers(settings.workers, `forge-extensions: ${where}.workers`);
    resolveRequestBudgets({ ...options.budgets, ...settings.budgets }, `forge-extensions: ${where}.budgets`);
    checkContextGrant(settings.context, `forge-extensions: ${where}.context`);
    if (settings.config !== undefined) {
      try {
        JSON.stringify(settings.config);
      } catch (e) {
        throw new TypeError(`forge-extensions: ${where}.config must be JSON-serialisable: ${(e as Error).message}`);
      }
    }
  }

  return {
    schema: options.schema,
    dataDir: options.dataDir ?? './data',
    cacheDir: options.cacheDir,
    namespace: options.namespace ?? 'prefix',
    isolation: options.isolation ?? 'process',
    limits: options.limits ?? {},
    workers: options.workers ?? 1,
    budgets: options.budgets ?? {},
    extensions,
    logger,
    watch: options.watch ?? process.env['NODE_ENV'] !== 'production',
  };
}

/** The runtime's limit rules, reported like every other option error: `forge-extensions: options.limits.timeoutMs ...`. */
function checkLimits(limits: Partial<Limits> | undefined, where: string): void {
  if (limits === undefined) return;
  try {
    resolveLimits(limits);
  } catch (e) {
    throw new TypeError(`forge-extensions: ${(e as Error).message.replace(/^limits\b/, where)}`);
  }
}

function checkNamespace(value: unknown, where: string): void {
  if (value !== undefined && value !== 'prefix' && value !== 'none') {
    throw new TypeError(`forge-extensions: ${where} must be 'prefix' or 'none', not ${JSON.stringify(value)}`);
  }
}

/** What `name` is granted per request: its budgets (global, then its own) and its context. */
export function extensionPolicy(options: ResolvedHostOptions, name: string): ExtensionPolicy {
  const settings = options.extensions[name] ?? {};
  return {
    budgets: resolveRequestBudgets({ ...options.budgets, ...settings.budgets }, `forge-extensions: options.extensions.${name}.budgets`),
    context: settings.context ?? [],
    onGrantError: (err) => options.logger.error({ err, extension: name }, `forge-extensions: extensions.${name}.context failed: ${err.message}`),
  };
}

/**
 * How extension `name` is loaded (`loadExtension`'s options): its `extensions.<name>` settings
 * over the host's. `signal` aborts the load (the host closing). The migration waits for the
 * host to accept the version (`holdMigration`): a version refused at composition leaves none.
 */
export function extensionLoadOptions(options: ResolvedHostOptions, name: string, signal: AbortSignal): LoadExtensionOptions {
  const settings = options.extensions[name] ?? {};
  return {
    name,
    dataDir: options.dataDir,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    config: settings.config,
    isolation: settings.isolation ?? options.isolation,
    limits: { ...options.limits, ...settings.limits },
    workers: settings.workers ?? options.workers,
    logger: options.logger,
    signal,
    holdMigration: true,
  };
}
