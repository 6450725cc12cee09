/**
 * The runtime's own WASI 0.2: deny-by-default.
 *
 * An extension gets clocks, randomness, and stdout/stderr that land in the host's log. It gets
 * no preopened directory (so no path it could open), an empty environment and argument list,
 * an empty stdin, and every socket operation answers `access-denied`. `@bytecodealliance/preview2-shim`
 * is never used here: it grants the real filesystem and network.
 *
 * Objects are keyed by unversioned interface name, as jco's instantiation mode expects.
 * Functions this file does not implement (rarely used parts of the allowed interfaces) exist
 * anyway, through a proxy: they fail the call instead of breaking instantiation.
 */
import type { CallFailure } from './wire.js';

/** Where captured stdout / stderr bytes go (already UTF-8 decoded, one line at a time), and where a cap hit is reported. */
export interface WasiOutput {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Called just before a call is refused for exceeding a host cap (the guest then traps). */
  capHit(failure: CallFailure): void;
}

/**
 * Most bytes one `get-random-bytes` / `get-insecure-random-bytes` call may ask for. The WASI
 * function has no error case and the host allocates what is asked (3 GB if so), so a larger
 * request traps the guest with `EXTENSION_RANDOM_BYTES_LIMIT` before anything is allocated.
 */
export const MAX_RANDOM_BYTES = 1024 * 1024;

/** The import object fragment for every allowed WASI interface. */
export type WasiImports = Record<string, Record<string, unknown>>;

/** The error value a denied `result`-returning WASI call answers with. */
const FS_DENIED = 'access';
const SOCKET_DENIED = 'access-denied';
/** Longest captured line; longer output is split. */
const MAX_LINE = 8 * 1024;

/** Creates a fresh set of WASI interfaces for one instance. */
export function createWasi(output: WasiOutput): WasiImports {
  // Resource classes are made per instance: jco's glue attaches per-class bookkeeping to them.
  class Pollable {
    constructor(readonly readyAt = 0n) {}
    ready(): boolean {
      return process.hrtime.bigint() >= this.readyAt;
    }
    block(): void {
      const waitNs = this.readyAt - process.hrtime.bigint();
      if (waitNs > 0n) sleepSync(Number(waitNs / 1_000_000n) + 1);
    }
  }

  class IoError {
    toDebugString(): string {
      return 'stream error';
    }
  }

  class InputStream {
    read(): Uint8Array {
      throw { tag: 'closed' };
    }
    blockingRead(): Uint8Array {
      throw { tag: 'closed' };
    }
    skip(): bigint {
      throw { tag: 'closed' };
    }
    blockingSkip(): bigint {
      throw { tag: 'closed' };
    }
    subscribe(): Pollable {
      return new Pollable();
    }
  }

  class OutputStream {
    #pending = '';
    readonly #decoder = new TextDecoder();
    constructor(private readonly sink: (line: string) => void) {}
    checkWrite(): bigint {
      return 65536n;
    }
    write(bytes: Uint8Array): void {
      this.#pending += this.#decoder.decode(bytes, { stream: true });
      let nl: number;
      while ((nl = this.#pending.indexOf('\n')) !== -1 || this.#pending.length > MAX_LINE) {
        const cut = nl === -1 ? MAX_LINE : nl;
        this.sink(this.#pending.slice(0, cut));
        this.#pending = this.#pending.slice(nl === -1 ? cut : cut + 1);
      }
    }
    blockingWriteAndFlush(bytes: Uint8Array): void {
      this.write(bytes);
      this.flush();
    }
    flush(): void {
      if (this.#pending) this.sink(this.#pending);
      this.#pending = '';
    }
    blockingFlush(): void {
      this.flush();
    }
    writeZeroes(): void {}
    blockingWriteZeroesAndFlush(): void {}
    splice(): bigint {
      throw { tag: 'closed' };
    }
    blockingSplice(): bigint {
      throw { tag: 'closed' };
    }
    subscribe(): Pollable {
      return new Pollable();
    }
  }

  const stdout = new OutputStream(output.stdout);
  const stderr = new OutputStream(output.stderr);
  const stdin = new InputStream();
  const origin = process.hrtime.bigint();
  class Network {}

  const wallNow = () => {
    const ms = Date.now();
    return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
  };
  const randomBytes = (len: bigint): Uint8Array => {
    if (len > BigInt(MAX_RANDOM_BYTES)) {
      const message = `the extension asked for ${len} random bytes in one call, above the limit of ${MAX_RANDOM_BYTES}`;
      output.capHit({ code: 'EXTENSION_RANDOM_BYTES_LIMIT', message });
      throw new RangeError(message);
    }
    const bytes = new Uint8Array(Number(len));
    // getRandomValues fills at most 64 KiB per call.
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    return bytes;
  };
  const randomU64 = (): bigint => crypto.getRandomValues(new BigUint64Array(1))[0]!;

  const interfaces: WasiImports = {
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': {
      Pollable,
      // Report the ready ones; if none is, wait for the earliest, as `poll` must not return empty.
      poll: (list: Pollable[]) => {
        let ready = list.flatMap((p, i) => (p.ready() ? [i] : []));
        if (ready.length === 0 && list.length > 0) {
          list.reduce((a, b) => (a.readyAt <= b.readyAt ? a : b)).block();
          ready = list.flatMap((p, i) => (p.ready() ? [i] : []));
        }
        return new Uint32Array(ready);
      },
    },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:clocks/monotonic-clock': {
      now: () => process.hrtime.bigint() - origin,
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => new Pollable(origin + when),
      subscribeDuration: (ns: bigint) => new Pollable(process.hrtime.bigint() + ns),
    },
    'wasi:clocks/wall-clock': { now: wallNow, resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }) },
    'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
    'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
    'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
    // No environment, no arguments, no working directory.
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      exit: () => {
        throw new Error('the extension called exit()');
      },
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput: class TerminalInput {} },
    'wasi:cli/terminal-output': { TerminalOutput: class TerminalOutput {} },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    // No preopened directory: there is no descriptor to open a path from.
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': {
      Descriptor: deniedResource(FS_DENIED),
      DirectoryEntryStream: deniedResource(FS_DENIED),
      filesystemErrorCode: () => undefined,
    },
    'wasi:sockets/network': { Network },
    'wasi:sockets/instance-network': { instanceNetwork: () => new Network() },
    'wasi:sockets/tcp-create-socket': { createTcpSocket: denySocket },
    'wasi:sockets/udp-create-socket': { createUdpSocket: denySocket },
    'wasi:sockets/ip-name-lookup': { resolveAddresses: denySocket, ResolveAddressStream: deniedResource(SOCKET_DENIED) },
    'wasi:sockets/tcp': { TcpSocket: deniedResource(SOCKET_DENIED) },
    'wasi:sockets/udp': {
      UdpSocket: deniedResource(SOCKET_DENIED),
      IncomingDatagramStream: deniedResource(SOCKET_DENIED),
      OutgoingDatagramStream: deniedResource(SOCKET_DENIED),
    },
  };
  for (const [name, iface] of Object.entries(interfaces)) interfaces[name] = denyUnknown(name, iface);
  return interfaces;
}

function denySocket(): never {
  throw SOCKET_DENIED;
}

/**
 * A resource class no instance of which is ever handed out. jco's glue does not check that a
 * handle the guest passes exists (it makes an object with the class's prototype), so every
 * method a guest could reach through a forged handle answers the denial too.
 */
function deniedResource(denial: string): new () => object {
  const denied = class {};
  Object.setPrototypeOf(
    denied.prototype,
    new Proxy(Object.prototype, {
      get: (target, prop, receiver) =>
        typeof prop === 'string' && !(prop in target)
          ? () => {
              throw denial;
            }
          : Reflect.get(target, prop, receiver),
    }),
  );
  return denied;
}

/**
 * Every function of an imported interface must exist when the component is instantiated, even
 * ones this file does not implement; those fail when called. A missing class becomes an empty
 * one (no instance of it can ever be created).
 */
function denyUnknown(name: string, iface: Record<string, unknown>): Record<string, unknown> {
  const denial = name.startsWith('wasi:sockets/') ? SOCKET_DENIED : FS_DENIED;
  return new Proxy(iface, {
    get(target, prop) {
      if (typeof prop !== 'string' || prop in target) return target[prop as string];
      if (/^[A-Z]/.test(prop)) return (target[prop] = deniedResource(denial));
      return () => {
        throw denial;
      };
    },
  });
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` milliseconds (WASI's blocking `pollable.block`). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
