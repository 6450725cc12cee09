/**
 * A real cap on a guest's linear memory: the core module's declared memory maximum is rewritten
 * before it is compiled, so `memory.grow` past the cap fails inside the engine (it returns -1;
 * the guest then traps or reports out-of-memory) instead of growing the host process.
 */

const PAGE = 65536;
const MEMORY_SECTION = 5;

/** Thrown when a module cannot run under the cap at all. */
export class MemoryLimitError extends Error {
  override name = 'MemoryLimitError';
}

/**
 * Returns `module` with every memory it defines limited to `maxBytes` (rounded down to whole
 * 64 KiB pages), or `module` itself when it defines no memory. Memories it imports are limited
 * where they are defined.
 */
export function limitMemory(module: Uint8Array, maxBytes: number): Uint8Array {
  const capPages = Math.floor(maxBytes / PAGE);
  let pos = 8; // magic + version
  while (pos < module.length) {
    const sectionStart = pos;
    const id = module[pos++]!;
    const [size, sizeLen] = readU32(module, pos);
    pos += sizeLen;
    const contentStart = pos;
    pos += size;
    if (id !== MEMORY_SECTION) continue;

    const out: number[] = [];
    let p = contentStart;
    const [count, countLen] = readU32(module, p);
    p += countLen;
    writeU32(out, count);
    for (let i = 0; i < count; i++) {
      const flags = module[p++]!;
      if (flags !== 0x00 && flags !== 0x01) {
        throw new MemoryLimitError(`unsupported memory type (flags 0x${flags.toString(16)}: shared or 64-bit memory)`);
      }
      const [min, minLen] = readU32(module, p);
      p += minLen;
      let max = Infinity;
      if (flags === 0x01) {
        const [declared, maxLen] = readU32(module, p);
        p += maxLen;
        max = declared;
      }
      if (min > capPages) {
        throw new MemoryLimitError(
          `the module needs ${mib(min)} MiB of memory to start, above the limit of ${mib(capPages)} MiB (limits.memoryMb)`,
        );
      }
      out.push(0x01);
      writeU32(out, min);
      writeU32(out, Math.min(max, capPages));
    }
    const header: number[] = [MEMORY_SECTION];
    writeU32(header, out.length);
    const result = new Uint8Array(module.length - (pos - sectionStart) + header.length + out.length);
    result.set(module.subarray(0, sectionStart), 0);
    result.set(header, sectionStart);
    result.set(out, sectionStart + header.length);
    result.set(module.subarray(pos), sectionStart + header.length + out.length);
    return result;
  }
  return module;
}

const mib = (pages: number): string => (pages / 16).toFixed(pages % 16 ? 1 : 0);

function readU32(bytes: Uint8Array, pos: number): [value: number, length: number] {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[pos + i];
    if (b === undefined) throw new MemoryLimitError('malformed core module (unexpected end)');
    result += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [result, i + 1];
  }
  throw new MemoryLimitError('malformed core module (bad integer)');
}

function writeU32(out: number[], value: number): void {
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
}
