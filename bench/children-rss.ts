/** RSS of this process's extension processes (`isolation: 'process'`), from Linux /proc; 0 elsewhere. */
import { readdirSync, readFileSync } from 'node:fs';

export function extensionProcessesRssMiB(parent = process.pid): number {
  let kib = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(status.match(/^PPid:\s+(\d+)/m)?.[1]) !== parent) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith('forge-extension')) continue;
      kib += Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}
