/** Processes whose command line or working directory lies under a folder (Linux /proc). */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function processesUnder(dir: string): string[] {
  const found: string[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // no access
      }
      if (cmd.includes(dir) || cwd.startsWith(dir)) found.push(`${pid}: ${cmd.trim()}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
