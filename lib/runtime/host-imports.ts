/**
 * The imports an instance gets from the host: its own database (lib/data), its log, and the
 * deny-by-default WASI of wasi.ts. Nothing else exists for it.
 */
import type { ExtensionDatabase } from '../data/database.js';
import type { LogLevel } from './logger.js';
import type { NativeGuard } from './native-guard.js';
import { createWasi } from './wasi.js';
import type { CallFailure, GuestLogLine } from './wire.js';

export interface HostImportsOptions {
  db: ExtensionDatabase;
  log: (line: GuestLogLine) => void;
  /** Marks the database calls as native code (worker isolation). */
  guard: NativeGuard;
  /** Process isolation's memory cap, in MiB: SQLite's "out of memory" then means it was hit. */
  processMemoryMb: number | undefined;
  /** A host cap the current call ran into: its trap or `err` is reported with this code. */
  capHit: (failure: CallFailure) => void;
}

/** The import object for jco's `instantiate`, by interface name. */
export function hostImports({ db, log, guard, processMemoryMb, capHit }: HostImportsOptions): Record<string, unknown> {
  // A host import answers `err` by throwing a *string*; anything else would trap the guest.
  const asErr = <T>(fn: () => T): T => {
    try {
      return guard.native(fn);
    } catch (e) {
      if (processMemoryMb !== undefined && (e as { code?: string }).code === 'SQLITE_NOMEM') {
        capHit({
          code: 'EXTENSION_PROCESS_MEMORY_LIMIT',
          message: `the database ran out of memory at the extension process's limit of ${processMemoryMb} MiB (limits.processMemoryMb)`,
        });
      }
      throw e instanceof Error ? e.message : String(e);
    }
  };
  return {
    'forge:extension/database': {
      query: (sql: string, params: Uint8Array) => asErr(() => db.query(sql, params)),
      execute: (sql: string, params: Uint8Array) => asErr(() => db.execute(sql, params)),
      executeBatch: (sql: string) => asErr(() => db.executeBatch(sql)),
    },
    'forge:extension/log': {
      log: (level: LogLevel, message: string) => log({ level, message, source: 'log' }),
    },
    ...createWasi({
      stdout: (message) => log({ level: 'info', message, source: 'stdout' }),
      stderr: (message) => log({ level: 'warn', message, source: 'stderr' }),
      capHit,
    }),
  };
}
