/**
 * Other processes' CPU load on Linux: the machine's busy time from /proc/stat minus the time
 * of the worker and every process under it (its training runs), between two samples.
 * Elsewhere the reading is null (the rule then passes) — os.loadavg() counts our own runs.
 */
import { readdir, readFile } from 'node:fs/promises';

/** Aggregate jiffies of the `cpu` line: total, and idle (idle + iowait). */
export function parseProcStat(text: string): { total: number; idle: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user/nice).
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { total, idle: (v[3] ?? 0) + (v[4] ?? 0) };
}

/** pid, ppid and utime+stime (jiffies) from /proc/PID/stat; the command name may hold spaces. */
export function parsePidStat(text: string): { pid: number; ppid: number; ticks: number } {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/** CPU ticks of `root` and all its descendants, as seen in /proc now. */
export function treeTicks(stats: { pid: number; ppid: number; ticks: number }[], root: number): number {
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const byPid = new Map(stats.map((s) => [s.pid, s.ticks]));
  let sum = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    sum += byPid.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return sum;
}

async function allPidStats(proc: string) {
  const out: { pid: number; ppid: number; ticks: number }[] = [];
  for (const name of await readdir(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push(parsePidStat(await readFile(`${proc}/${name}/stat`, 'utf8')));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A sampler: each call returns other processes' share of all cores since the previous call. */
export function createCpuSampler(root = process.pid, proc = '/proc') {
  let prev: { total: number; idle: number; own: number } | null = null;
  return async (): Promise<number | null> => {
    if (process.platform !== 'linux') return null;
    const [stat, pids] = await Promise.all([readFile(`${proc}/stat`, 'utf8'), allPidStats(proc)]);
    const now = { ...parseProcStat(stat), own: treeTicks(pids, root) };
    const last = prev;
    prev = now;
    if (!last) return null;
    return otherCpuShare(last, now);
  };
}

/**
 * Busy time not spent by our own tree, as a share of all time. Own ticks can drop when a
 * child exits (its time moves to our cutime only after wait), so it is clamped at zero.
 */
export function otherCpuShare(
  a: { total: number; idle: number; own: number },
  b: { total: number; idle: number; own: number },
): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  const busy = total - (b.idle - a.idle);
  const own = Math.max(0, b.own - a.own);
  return Math.min(1, Math.max(0, (busy - own) / total));
}
