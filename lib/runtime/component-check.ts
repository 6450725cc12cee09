/**
 * First look at an extension's bytes, before any toolchain touches them: is it a WebAssembly
 * *component*, complete, and does it import only what the sandbox offers?
 *
 * This reads the component binary format directly (preamble, top-level sections, the import
 * section), which takes microseconds and gives a precise answer for the common mistakes: an
 * empty or truncated file, a text file, a core module that was never componentized, an
 * extension built against a contract this host does not serve, or one that wants an interface
 * (`wasi:http`, a custom one) the sandbox does not provide.
 */

/** The contract version this host serves. */
export const CONTRACT_VERSION = '0.1.0';
export const CONTRACT_PACKAGE = 'forge:extension';

/**
 * WASI interfaces an extension may import. Toolchains (componentize-js, Rust's std, TinyGo)
 * import several of them even when the code never uses them, so they are accepted and then
 * served by the runtime's deny-by-default WASI: no preopened directory, no environment, no
 * socket, stdout/stderr captured into the log. Anything else (`wasi:http`, `wasi:keyvalue`, a
 * custom interface) is refused when the file is loaded.
 */
export const ALLOWED_WASI_INTERFACES: ReadonlySet<string> = new Set([
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:filesystem/types',
  'wasi:filesystem/preopens',
  'wasi:sockets/network',
  'wasi:sockets/instance-network',
  'wasi:sockets/tcp',
  'wasi:sockets/tcp-create-socket',
  'wasi:sockets/udp',
  'wasi:sockets/udp-create-socket',
  'wasi:sockets/ip-name-lookup',
]);

const CONTRACT_INTERFACES: ReadonlySet<string> = new Set(['types', 'database', 'log']);

/** Thrown when the bytes are not a component this host can run; `message` says why. */
export class InvalidComponentError extends Error {
  override name = 'InvalidComponentError';
}

/** What {@link inspectComponent} learned. */
export interface ComponentInfo {
  /** Every top-level import name, versioned as in the binary (`forge:extension/log@0.1.0`). */
  imports: string[];
  /** The `forge:extension` version the component was built against. */
  contractVersion: string;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const IMPORT_SECTION = 10;

/** Checks `bytes` and lists the component's imports; throws {@link InvalidComponentError}. */
export function inspectComponent(bytes: Uint8Array): ComponentInfo {
  if (bytes.length === 0) throw new InvalidComponentError('the file is empty');
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const looksText = [...bytes.subarray(0, 64)].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
    throw new InvalidComponentError(
      `not a WebAssembly binary (it does not start with "\\0asm"${looksText ? '; it looks like text' : ''})`,
    );
  }
  const version = bytes[4]! | (bytes[5]! << 8);
  const layer = bytes[6]! | (bytes[7]! << 8);
  if (layer === 0) {
    throw new InvalidComponentError(
      'this is a core WebAssembly module, not a component: build it as a component for the ' +
        `${CONTRACT_PACKAGE}@${CONTRACT_VERSION} world (e.g. \`forge-ext build\`, \`jco componentize\`, ` +
        '`cargo component build`, or `wasm-tools component new`)',
    );
  }
  if (layer !== 1 || version !== 0x0d) {
    throw new InvalidComponentError(`unsupported WebAssembly component encoding (version ${version}, layer ${layer})`);
  }

  const reader = new Reader(bytes, 8);
  const imports: string[] = [];
  while (!reader.done) {
    const sectionAt = reader.pos;
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.pos + size;
    if (end > bytes.length) {
      throw new InvalidComponentError(
        `the file is truncated: the section at byte ${sectionAt} needs ${size} bytes but only ` +
          `${bytes.length - reader.pos} remain`,
      );
    }
    if (id === IMPORT_SECTION) {
      for (const { name, kind } of readImports(new Reader(bytes.subarray(0, end), reader.pos))) {
        // A type import (the world's `use types.{json}`) grants nothing; every capability is
        // an instance (an interface) or a function.
        if (kind !== TYPE_IMPORT) imports.push(name);
      }
    }
    reader.pos = end;
  }
  return { imports, contractVersion: checkImports(imports) };
}

/**
 * Validates import names (versioned, as in the binary) against the contract and the WASI
 * allow-list; returns the contract version. Throws {@link InvalidComponentError}.
 */
export function checkImports(imports: string[]): string {
  let contractVersion: string | undefined;
  for (const name of imports) {
    const match = /^([a-z][a-z0-9-]*:[a-z][a-z0-9-]*(?:\/[a-z][a-z0-9-]*)?)(?:@(.+))?$/.exec(name);
    const [, unversioned, version] = match ?? [];
    if (!unversioned || !unversioned.includes(':')) {
      throw new InvalidComponentError(
        `unknown import "${name}": an extension may import only ${CONTRACT_PACKAGE}/* and sandboxed WASI interfaces`,
      );
    }
    const [pkg, iface] = unversioned.split('/') as [string, string | undefined];
    if (pkg === CONTRACT_PACKAGE) {
      if (!iface || !CONTRACT_INTERFACES.has(iface)) {
        throw new InvalidComponentError(`unknown import "${name}": ${CONTRACT_PACKAGE} has no interface "${iface ?? ''}"`);
      }
      if (version !== CONTRACT_VERSION) {
        throw new InvalidComponentError(
          `import "${name}" is from contract version ${version ?? '(none)'}; this host serves ` +
            `${CONTRACT_PACKAGE}@${CONTRACT_VERSION}`,
        );
      }
      contractVersion = version;
    } else if (!ALLOWED_WASI_INTERFACES.has(unversioned) || !version?.startsWith('0.2.')) {
      const hint = pkg === 'wasi:http' ? ' (network access is not available to extensions; componentize-js: disableFeatures [\'http\', \'fetch-event\'])' : '';
      throw new InvalidComponentError(`unknown import "${name}": the sandbox does not provide it${hint}`);
    }
  }
  return contractVersion ?? CONTRACT_VERSION;
}

const TYPE_IMPORT = 0x03;

/** Reads one import section's vector of `importname' externdesc`. */
function readImports(r: Reader): Array<{ name: string; kind: number }> {
  const out: Array<{ name: string; kind: number }> = [];
  for (let count = r.u32(); count > 0; count--) {
    const tag = r.byte();
    if (tag !== 0x00 && tag !== 0x01) throw r.malformed('import name');
    const name = r.name();
    const kind = r.byte();
    out.push({ name, kind });
    switch (kind) {
      case 0x00: // core module: 0x11 typeidx
        r.byte();
        r.u32();
        break;
      case 0x01: // func
      case 0x04: // component
      case 0x05: // instance
        r.u32();
        break;
      case 0x02: // value bound
        if (r.byte() === 0x00) r.u32();
        else r.valType();
        break;
      case 0x03: // type bound: 0x00 typeidx | 0x01 (sub resource)
        if (r.byte() === 0x00) r.u32();
        break;
      default:
        throw r.malformed('import kind');
    }
  }
  return out;
}

/** A bounds-checked cursor over the binary: reading past the end means the file is truncated. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw this.truncated();
    return this.bytes[this.pos++]!;
  }

  /** LEB128 unsigned 32-bit integer. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw this.malformed('integer');
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.bytes.length) throw this.truncated();
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return text;
  }

  /** A value type: one primitive-type byte (0x64..0x7f) or a signed LEB type index. */
  valType(): void {
    const b = this.bytes[this.pos];
    if (b !== undefined && b >= 0x64 && b <= 0x7f) this.pos++;
    else this.u32();
  }

  truncated(): InvalidComponentError {
    return new InvalidComponentError(`the file is truncated or malformed (unexpected end at byte ${this.pos})`);
  }

  malformed(what: string): InvalidComponentError {
    return new InvalidComponentError(`malformed component: bad ${what} at byte ${this.pos}`);
  }
}
