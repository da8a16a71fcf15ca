/** Figures read from /proc and Redis INFO for the scale bench. */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const TICKS = 100;

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Resident and peak resident memory of a process, MB. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export async function redisCommands(r: Redis): Promise<number> {
  const info = await r.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

export function loadAvg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Measures a window: CPU share of a core, Redis commands/s, elapsed seconds. */
export async function window(pid: number, r: Redis, others: number[] = []) {
  const t0 = performance.now();
  const c0 = cpuSeconds(pid);
  const o0 = others.map(cpuSeconds);
  const r0 = await redisCommands(r);
  return async () => {
    const s = (performance.now() - t0) / 1000;
    const cpu = (cpuSeconds(pid) - c0) / s;
    const cmds = ((await redisCommands(r)) - r0) / s;
    const otherCpu = others.map((p, i) => (cpuSeconds(p) - o0[i]!) / s);
    return { s, cpu, cmdsPerS: cmds, otherCpu };
  };
}

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}
