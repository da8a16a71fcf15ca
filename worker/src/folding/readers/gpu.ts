/**
 * Foreign GPU processes, from `nvidia-smi --query-compute-apps` (NVIDIA). Processes of the
 * worker's own tree (its runs) are not foreign. Without nvidia-smi the reading is null.
 * Apple GPUs have no per-process list a user may read; AMD's rocm-smi is not read yet.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parsePidStat } from './cpu.ts';

const run = promisify(execFile);

export const NVIDIA_SMI_ARGS = [
  '--query-compute-apps=pid,process_name,used_memory',
  '--format=csv,noheader,nounits',
];

/** PIDs in nvidia-smi's compute-apps CSV (older drivers print "No running processes found"). */
export function parseComputeApps(csv: string): number[] {
  const pids: number[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const m = /^\s*(\d+)\s*,/.exec(line);
    if (m) pids.push(Number(m[1]));
  }
  return pids;
}

export function foreignPids(gpuPids: number[], own: ReadonlySet<number>): number[] {
  return gpuPids.filter((p) => !own.has(p));
}

/** The worker and all its descendants, from /proc (Linux); just the worker elsewhere. */
export async function ownPids(root = process.pid): Promise<Set<number>> {
  const own = new Set([root]);
  if (process.platform !== 'linux') return own;
  const stats: { pid: number; ppid: number }[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const s = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => null);
    if (s) stats.push(parsePidStat(s));
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of stats) {
      if (own.has(s.ppid) && !own.has(s.pid)) {
        own.add(s.pid);
        grew = true;
      }
    }
  }
  return own;
}

/** Foreign GPU PIDs now, or null when nvidia-smi is absent or fails. */
export async function readForeignGpuPids(root = process.pid): Promise<number[] | null> {
  let stdout: string;
  try {
    ({ stdout } = await run('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: 10_000, windowsHide: true }));
  } catch {
    return null;
  }
  return foreignPids(parseComputeApps(stdout), await ownPids(root));
}
