/** The `probe` fixture as the data-layer tests drive it: SQL of the test's choosing, through a real guest. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Extension } from '../lib/runtime/extension.js';
import { loadExtension, type Isolation } from '../lib/runtime/load.js';
import { silentLogger, type Logger } from '../lib/runtime/logger.js';
import { fixturePath, TEST_CACHE_DIR } from './helpers.js';

export interface ProbeOptions {
  config?: Record<string, unknown>;
  isolation?: Isolation;
  logger?: Logger;
}
export const probe = (dataDir: string, { config, isolation = 'inline', logger = silentLogger }: ProbeOptions = {}) =>
  loadExtension(fixturePath('probe'), { dataDir, cacheDir: TEST_CACHE_DIR, logger, isolation, ...(config ? { config } : {}) });

/** Rows of a read-only `Query.sql` call. */
export async function read(ext: Extension, sql: string, params: unknown = []): Promise<Array<Record<string, unknown>>> {
  const text = await ext.resolveField({ typeName: 'Query', fieldName: 'sql', arguments: { sql, params: JSON.stringify(params) } });
  return JSON.parse(text as string) as Array<Record<string, unknown>>;
}

/** A `Mutation.sqlWrite` call (its own transaction). */
export const write = (ext: Extension, sql: string, args: { params?: unknown; mode?: string; fail?: boolean } = {}) =>
  ext.resolveField(
    { typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql, mode: args.mode ?? 'execute', params: JSON.stringify(args.params ?? []), fail: args.fail ?? false } },
    { write: true },
  );

export const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
