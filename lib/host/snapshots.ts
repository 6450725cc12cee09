/**
 * Atomic schema snapshots and the lifetime of the extension versions they use.
 *
 * A request holds the snapshot it started with until it ends, so it never sees a half-applied
 * change. An extension version is closed only when no live snapshot uses it any more: not the
 * current one, and none still held by a request. A snapshot held longer than
 * {@link DRAIN_TIMEOUT_MS} after being replaced is let go anyway (its remaining calls then fail
 * with `EXTENSION_UNAVAILABLE`), so one stuck request cannot keep old workers alive for ever.
 */
import type { GraphQLSchema } from 'graphql';
import type { Extension } from '../runtime/extension.js';

export const DRAIN_TIMEOUT_MS = 30_000;

/** A schema a request executes against, held until `release()`. */
export interface Snapshot {
  readonly schema: GraphQLSchema;
  /** Ends this hold. Idempotent. */
  release(): void;
}

interface Live {
  schema: GraphQLSchema;
  extensions: Extension[];
  holds: number;
  retired: boolean;
}

export class SnapshotTracker {
  #current: Live;
  /** How many live snapshots use each extension version. */
  readonly #uses = new Map<Extension, number>();

  constructor(
    schema: GraphQLSchema,
    private readonly close: (ext: Extension) => void,
  ) {
    this.#current = { schema, extensions: [], holds: 0, retired: false };
  }

  get current(): { readonly schema: GraphQLSchema } {
    return this.#current;
  }

  acquire(): Snapshot {
    const live = this.#current;
    live.holds++;
    let released = false;
    return {
      schema: live.schema,
      release: () => {
        if (released) return;
        released = true;
        live.holds--;
        if (live.holds === 0 && live !== this.#current) this.#retire(live);
      },
    };
  }

  /** Makes `schema` (served by `extensions`) current in one step. */
  publish(schema: GraphQLSchema, extensions: Extension[]): void {
    for (const ext of extensions) this.#uses.set(ext, (this.#uses.get(ext) ?? 0) + 1);
    const previous = this.#current;
    this.#current = { schema, extensions, holds: 0, retired: false };
    if (previous.holds === 0) this.#retire(previous);
    else setTimeout(() => this.#retire(previous), DRAIN_TIMEOUT_MS).unref();
  }

  /** Closes every extension version still in use (the host is shutting down). */
  async closeAll(): Promise<void> {
    const all = [...this.#uses.keys()];
    this.#uses.clear();
    this.#current = { schema: this.#current.schema, extensions: [], holds: 0, retired: true };
    await Promise.all(all.map((ext) => ext.close()));
  }

  #retire(live: Live): void {
    if (live.retired) return;
    live.retired = true;
    for (const ext of live.extensions) {
      const uses = (this.#uses.get(ext) ?? 1) - 1;
      if (uses > 0) {
        this.#uses.set(ext, uses);
      } else if (this.#uses.delete(ext)) {
        this.close(ext);
      }
    }
  }
}
