/**
 * forge-extensions: extend an Express or Koa GraphQL API at runtime with sandboxed WebAssembly
 * component extensions. Koa: `forge-extensions/koa`. Guest SDK: `forge-extensions/guest`.
 */
export { forgeExtensions, type ForgeMiddleware, type ForgeOptions } from './http/express.js';
export type { HttpOptions } from './http/handler.js';
export { createExtensionHost, ExtensionHost, type ExtensionEvent, type ExtensionStatus } from './host/host.js';
export type { ExtensionSettings, HostOptions } from './host/options.js';
export { loadExtension, type Isolation, type LoadExtensionOptions } from './runtime/load.js';
export { Extension, type CallOptions, type ExtensionState, type ExtensionStats, type FieldRequest } from './runtime/extension.js';
export { ExtensionCallError, ExtensionLoadError, type ExtensionErrorCode, type LoadStep } from './runtime/errors.js';
export { consoleLogger, type Logger, type LogLevel } from './runtime/logger.js';
export { DEFAULT_LIMITS, type Limits } from './runtime/wire.js';
export type { NamespaceMode } from './schema/namespace.js';
export { DEFAULT_REQUEST_BUDGETS, type RequestBudgets } from './schema/budget.js';
export type { ContextGrant } from './schema/policy.js';
