/** How an instance call that failed as a whole is reported (to the backends and the extension). */
import type { StorageFault } from '../data/storage-fault.js';
import type { CallFailure } from './wire.js';

/**
 * Thrown by instance calls that failed as a whole. `step` is set for lifecycle calls; `failure`
 * says how (a guest `err` is `EXTENSION_ERROR`).
 */
export class InstanceCallError extends Error {
  constructor(readonly failure: CallFailure) {
    super(failure.message);
  }
}

/** The failure of a call during which the database layer saw `fault`. */
export function storageFailure(fault: StorageFault): CallFailure {
  return { code: 'EXTENSION_STORAGE', message: fault.message, storage: fault };
}
