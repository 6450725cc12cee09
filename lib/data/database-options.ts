/** The settings of one extension's database connection (`ExtensionDatabase`, database.ts). */
import type { StatementCache } from './statement-cache.js';
import type { StorageFaultError } from './storage-fault.js';

/** Options of `ExtensionDatabase`. */
export interface DatabaseOptions {
  /**
   * How long a statement waits for another connection's write lock before failing with
   * `SQLITE_BUSY` (only an old and a new version of one extension ever share a file).
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * How many prepared statements are kept per connection, least recently used evicted first
   * (see {@link StatementCache}, which also bounds their SQL text).
   * @default 256
   */
  statementCacheSize?: number;
  /**
   * Run `PRAGMA quick_check` before anything else touches the file (once per loaded version;
   * ~0.1-1 s per 100 MB, see bench/). A damaged file throws {@link StorageFaultError} (kind
   * `corrupt`) and gets no write, not even the switch to WAL mode.
   * @default false
   */
  verifyIntegrity?: boolean;
}
