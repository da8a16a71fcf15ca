/**
 * Finding a run's processes after the fact. Every process a run starts carries
 * `RATCHET_RUN=<scope>.<id>` in its environment (children inherit it, `setsid` or not), where
 * the scope names the worker's work dir. On Linux /proc tells who carries it, so that a
 * grandchild that left the process group is still killed, and a worker restarted on the same
 * work dir kills what its killed predecessor left running. Elsewhere these find nothing and
 * the process-group kill is all there is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const RUN_MARK_VAR = 'RATCHET_RUN';

/** The mark prefix of every run started from one work dir. */
export function runScope(workDir: string): string {
  return createHash('sha256').update(resolve(workDir)).digest('hex').slice(0, 16);
}

export function newRunMark(scope: string): string {
  return `${scope}.${randomBytes(8).toString('hex')}`;
}

/** Pids (never this process) whose environment holds a mark starting with `prefix`. */
export function markedPids(prefix: string): number[] {
  if (process.platform !== 'linux' || prefix.length === 0) return [];
  let all: string[];
  try {
    all = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const needle = `\0${RUN_MARK_VAR}=${prefix}`;
  const found: number[] = [];
  for (const p of all) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    try {
      if (`\0${readFileSync(`/proc/${p}/environ`, 'latin1')}`.includes(needle)) found.push(pid);
    } catch {
      // gone, or another user's
    }
  }
  return found;
}

/** SIGKILL every process marked with `prefix`; returns how many were signalled. */
export function killMarked(prefix: string): number {
  let n = 0;
  // Twice: a process may fork between the scan and the kill.
  for (let round = 0; round < 2; round++) {
    for (const pid of markedPids(prefix)) {
      try {
        process.kill(pid, 'SIGKILL');
        n++;
      } catch {
        // already gone
      }
    }
  }
  return n;
}
