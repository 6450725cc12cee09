/**
 * What a guest instance is made from: its {@link InstanceSpec}, and the jco glue it instantiates
 * (the glue's exports for the contract's world, and how the glue reports a guest's `err`).
 */
import type { WireRequest } from './wire.js';

/** The contract's `field-request`: its JSON values as UTF-8 bytes (`type json = list<u8>`). */
export interface GuestFieldRequest {
  typeName: string;
  fieldName: string;
  arguments: Uint8Array;
  parent: Uint8Array | undefined;
  context: Uint8Array;
}

/** A call's {@link WireRequest}s as the guest takes them; a text several share (a request's context) is encoded once. */
export function guestRequests(requests: WireRequest[]): GuestFieldRequest[] {
  const encoded = new Map<string, Uint8Array>();
  const bytes = (text: string): Uint8Array => {
    let b = encoded.get(text);
    if (!b) encoded.set(text, (b = encoder.encode(text)));
    return b;
  };
  return requests.map((r) => ({ typeName: r.typeName, fieldName: r.fieldName, arguments: bytes(r.arguments), parent: r.parent === undefined ? undefined : bytes(r.parent), context: bytes(r.context) }));
}

const encoder = new TextEncoder();

/** The glue's exports, as jco generates them for the contract's world. */
export interface GuestExports {
  init(config: { name: string; dbPath: string; config: Uint8Array | undefined }): void;
  getSchema(): string;
  migrate(dbPath: string): void;
  resolveField(request: GuestFieldRequest): Uint8Array;
  resolveBatch(requests: GuestFieldRequest[]): Array<{ tag: 'ok'; val: Uint8Array } | { tag: 'err'; val: string }>;
}

/** The glue's `instantiate` (jco's `instantiation` mode). */
export type Instantiate = (
  getCoreModule: (file: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => GuestExports;

/** Everything an instance needs; cloneable, so a worker can receive it. */
export interface InstanceSpec {
  name: string;
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  /** The verified core-module bytes the modules were compiled from (see CompiledComponent). */
  coreModules: Record<string, Uint8Array>;
  memoryLimitBytes: number;
  /** The application's configuration for this extension, as JSON bytes. */
  config?: Uint8Array;
  maxResponseBytes: number;
  /** Process isolation: the process's memory cap (RLIMIT_DATA), in MiB; SQLite's "out of memory" then means it was hit. */
  processMemoryMb?: number;
}

/** A `result` export's `err`: jco throws a `ComponentError` carrying it as `payload`. */
export function isGuestErr(e: unknown): e is { payload: unknown } {
  return typeof e === 'object' && e !== null && Object.prototype.hasOwnProperty.call(e, 'payload');
}
