/**
 * Where an instance runs. Every backend keeps the same promise: `start` brings an instance up
 * (instantiate, init, and for a new version migrate + get-schema, its migration left
 * uncommitted), `commit` makes that migration stand, `resolve` makes one call, and a failed call
 * rejects with a {@link CallFailure}-carrying {@link InstanceCallError}.
 */
import { ExtensionDatabase } from '../data/database.js';
import { StorageFaultError } from '../data/storage-fault.js';
import { GuestInstance } from './instance.js';
import { InstanceCallError, storageFailure } from './instance-call-error.js';
import type { InstanceSpec } from './instance-spec.js';
import { NativeGuard } from './native-guard.js';
import { SqlFieldError } from './sql-fields.js';
import type { GuestLogLine, WireCall, WireResult } from './wire.js';

export interface Backend {
  /**
   * Instantiates, runs `init`, `migrate` and returns `get-schema`'s SDL. Rejects with a
   * {@link StartError}. The migration's transaction stays open (the database's write lock held)
   * until {@link commit}; {@link close} rolls it back.
   */
  start(): Promise<string>;
  /**
   * Commits the migration `start` left open; nothing to do for an instance that did not migrate.
   * Rejects with a {@link StartError} (step `migrate`), the migration rolled back.
   */
  commit(): Promise<void>;
  resolve(call: WireCall): Promise<WireResult[]>;
  close(): Promise<void>;
}

/** What every backend needs to open the database and create the instance. */
export interface BackendSpec extends InstanceSpec {
  dataDir: string;
  timeoutMs: number;
  /** The SDL this version's first start returned: set for further instances of it (`workers` > 1). */
  sdl?: string;
}

/** A lifecycle step failed: which one, and how. */
export class StartError extends InstanceCallError {
  constructor(
    readonly step: 'database' | 'instantiate' | 'init' | 'migrate' | 'get-schema' | 'sql-resolvers',
    cause: InstanceCallError,
  ) {
    super(cause.failure);
  }
}

/**
 * Opens the database, creates the instance and runs the lifecycle: the one sequence every
 * backend runs (on the main thread, a worker thread or a child process): a new version's SQL
 * resolvers (`@sql` in its SDL) are checked against the migrated database. A `restart` (a fresh
 * runner after a timeout) only runs `init`, and takes the SQL resolvers from the SDL the first
 * start returned (`restart.sdl`): this version's migrations and checks already ran. On failure
 * nothing stays open.
 */
export async function startInstance(
  spec: BackendSpec,
  log: (line: GuestLogLine) => void,
  restart?: { sdl: string },
  guard = new NativeGuard(),
): Promise<{ instance: GuestInstance; db: ExtensionDatabase; sdl: string }> {
  let db: ExtensionDatabase;
  try {
    // A new version checks the file before anything writes to it; a restart trusts that check.
    db = guard.native(() => new ExtensionDatabase(spec.dataDir, spec.name, { verifyIntegrity: !restart }));
  } catch (e) {
    throw new StartError('database', callFailure(e));
  }
  let step: StartError['step'] = 'instantiate';
  try {
    const instance = await GuestInstance.create(spec, db, log, guard);
    step = 'init';
    instance.init();
    if (restart) {
      instance.useSqlResolvers(restart.sdl, false);
      return { instance, db, sdl: restart.sdl };
    }
    step = 'migrate';
    let sdl = '';
    // Inside migrate's transaction, left open until the host accepts the version: a version
    // refused for its schema, its SQL resolvers or at composition leaves the database as the
    // version serving now needs it.
    instance.migrate(() => {
      step = 'get-schema';
      sdl = instance.getSchema();
      step = 'sql-resolvers';
      instance.useSqlResolvers(sdl, true);
    });
    return { instance, db, sdl };
  } catch (e) {
    guard.native(() => db.close());
    throw new StartError(step, callFailure(e));
  }
}

/** Commits what `start` left open on `instance` (see {@link Backend.commit}); the one way every backend does. */
export function commitStarted(instance: GuestInstance | undefined): void {
  try {
    instance?.commitMigration();
  } catch (e) {
    throw new StartError('migrate', callFailure(e));
  }
}

/** What a failed start step reports: a storage fault as such, anything else as a crash. */
function callFailure(e: unknown): InstanceCallError {
  if (e instanceof InstanceCallError) return e;
  if (e instanceof StorageFaultError) return new InstanceCallError(storageFailure(e.fault));
  if (e instanceof SqlFieldError) return new InstanceCallError({ code: 'EXTENSION_ERROR', message: e.message });
  return new InstanceCallError({ code: 'EXTENSION_CRASHED', message: (e as Error).message });
}

/** Runs the instance on the calling (main) thread: fastest, but a runaway call cannot be stopped. */
export class InlineBackend implements Backend {
  #started: { instance: GuestInstance; db: ExtensionDatabase } | undefined;

  constructor(
    private readonly spec: BackendSpec,
    private readonly log: (line: GuestLogLine) => void,
  ) {}

  async start(): Promise<string> {
    const { instance, db, sdl } = await startInstance(this.spec, this.log);
    this.#started = { instance, db };
    return sdl;
  }

  async commit(): Promise<void> {
    commitStarted(this.#started?.instance);
  }

  async resolve(call: WireCall): Promise<WireResult[]> {
    if (!this.#started) throw new InstanceCallError({ code: 'EXTENSION_UNAVAILABLE', message: 'the extension is closed' });
    return this.#started.instance.resolve(call);
  }

  async close(): Promise<void> {
    this.#started?.db.close();
    this.#started = undefined;
  }
}
