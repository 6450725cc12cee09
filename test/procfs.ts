/** Linux /proc readings for the isolation tests and the benchmark: which extension processes run, and their CPU and memory. */
import { readdirSync, readFileSync } from 'node:fs';

/** `/proc/<pid>/stat` fields after the command name (field 3 onwards), or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is running (exists and is not a zombie). */
export function running(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/** CPU time used so far (utime + stime, clock ticks), or undefined once the process is gone. */
export function cpuTicks(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields && fields[0] !== 'Z' ? Number(fields[11]) + Number(fields[12]) : undefined;
}

/** The running extension processes (of extension `name`, or all) whose parent is `parent`, by the title they set (`forge-extension <name>`). */
export function extensionProcesses(name?: string, parent = process.pid): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const fields = statFields(pid);
    if (!fields || fields[0] === 'Z' || Number(fields[1]) !== parent) continue;
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (name === undefined ? title.startsWith('forge-extension ') : title === `forge-extension ${name}`) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A `/proc/<pid>/status` value in KiB (`VmRSS`, `VmHWM`, ...). */
export function statusKib(pid: number, key: string): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`no ${key} for ${pid}`);
  return Number(match[1]);
}

/** The environment a process started with. */
export function environment(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
}

/** Polls `predicate` every 20 ms; resolves the ms it took, or rejects after `withinMs`. */
export async function waitFor(predicate: () => boolean, withinMs: number, what: string): Promise<number> {
  const began = performance.now();
  while (!predicate()) {
    if (performance.now() - began > withinMs) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - began;
}
