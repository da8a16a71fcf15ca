/**
 * Disk use of a run's writable folders. Without a filesystem quota (which needs root and a
 * prepared filesystem), the worker measures the folders while the run goes and stops it when
 * they grow past the limit; RLIMIT_FSIZE stops a single huge file sooner, and /tmp is a
 * size-limited tmpfs.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes allocated under `dir` (blocks, so sparse files count what they use); links not followed. */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = await lstat(p);
        total += st.blocks * 512;
        if (st.isDirectory()) stack.push(p);
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}

export interface DiskWatch {
  /** Set once the folders grew past the limit (the run was stopped for it). */
  readonly exceeded: { bytes: number } | null;
  stop(): void;
}

/** Poll `dirs` every `intervalMs`; call `onExceeded` once when their growth passes `limitBytes`. */
export async function watchDisk(
  dirs: string[],
  limitBytes: number,
  onExceeded: (bytes: number) => void,
  intervalMs = 500,
): Promise<DiskWatch> {
  const sum = async () => (await Promise.all(dirs.map(diskUsage))).reduce((a, b) => a + b, 0);
  const start = await sum();
  let exceeded: { bytes: number } | null = null;
  let stopped = false;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || stopped || exceeded) return;
    busy = true;
    try {
      const grown = (await sum()) - start;
      if (!stopped && grown > limitBytes) {
        exceeded = { bytes: grown };
        onExceeded(grown);
      }
    } finally {
      busy = false;
    }
  }, intervalMs);
  timer.unref();
  return {
    get exceeded() {
      return exceeded;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
