/**
 * Folding mode's rules, BOINC-style: when a volunteer's machine may take work, and when a run
 * must give way to its owner. Pure functions of readings; the readers live in ./readers.
 */
import { z } from 'zod';

/** A volunteer's preferences; every field has a default a volunteer can live with. */
export const FoldingPrefs = z.object({
  /** Lease only while other processes use less than this share of all cores (percent). */
  maxOtherCpuPct: z.number().min(0).max(100).default(25),
  /** Lease only after this many minutes without keyboard or mouse input (0: ignore). */
  idleMinutes: z
    .number()
    .min(0)
    .max(24 * 60)
    .default(3),
  /** Lease only while no other process holds the GPU. */
  requireFreeGpu: z.boolean().default(true),
  /** Run on battery power. */
  allowOnBattery: z.boolean().default(false),
  /** Local hours in which to run, `HH:MM-HH:MM` (may wrap midnight); null: any time. */
  hours: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'hours: HH:MM-HH:MM')
    .nullable()
    .default(null),
  /** Most disk the worker's caches (checkouts, track data, prepared data) may use, in bytes. */
  maxCacheBytes: z
    .number()
    .int()
    .positive()
    .default(20 * 1024 ** 3),
  /** A run this far along when the owner returns is finished rather than given back (0..1). */
  finishIfDoneFraction: z.number().min(0).max(1).default(0.9),
  /** How often the readings are taken, in seconds. */
  checkIntervalS: z.number().min(1).max(3600).default(10),
});
export type FoldingPrefs = z.infer<typeof FoldingPrefs>;

/** One look at the machine. `null` means the platform cannot tell (the rule then passes). */
export interface Readings {
  /** Share of all cores used by processes other than the worker and its runs, 0..1. */
  otherCpu: number | null;
  /** PIDs holding the GPU that are not the worker's own runs. */
  foreignGpuPids: number[] | null;
  /** Time since the last keyboard or mouse input; null without a desktop session. */
  userIdleMs: number | null;
  onBattery: boolean | null;
  cacheBytes: number | null;
  /** Local time of day, minutes since midnight. */
  minuteOfDay: number;
}

export type RuleResult = { ok: true } | { ok: false; reason: string };
const OK: RuleResult = { ok: true };

export function cpuRule(r: Readings, p: FoldingPrefs): RuleResult {
  if (r.otherCpu === null || r.otherCpu * 100 <= p.maxOtherCpuPct) return OK;
  return {
    ok: false,
    reason: `other processes use ${(r.otherCpu * 100).toFixed(0)}% CPU (limit ${p.maxOtherCpuPct}%)`,
  };
}

export function gpuRule(r: Readings, p: FoldingPrefs): RuleResult {
  if (!p.requireFreeGpu || r.foreignGpuPids === null || r.foreignGpuPids.length === 0) return OK;
  return { ok: false, reason: `the GPU is in use by pid ${r.foreignGpuPids.join(', ')}` };
}

export function userIdleRule(r: Readings, p: FoldingPrefs): RuleResult {
  if (p.idleMinutes === 0 || r.userIdleMs === null || r.userIdleMs >= p.idleMinutes * 60_000) return OK;
  return {
    ok: false,
    reason: `the user was active ${Math.round(r.userIdleMs / 1000)} s ago (waits ${p.idleMinutes} min)`,
  };
}

export function batteryRule(r: Readings, p: FoldingPrefs): RuleResult {
  if (p.allowOnBattery || r.onBattery !== true) return OK;
  return { ok: false, reason: 'on battery power' };
}

/** `HH:MM-HH:MM` as minutes since midnight. */
export function parseHours(spec: string): { from: number; to: number } {
  const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(spec);
  if (!m) throw new Error(`hours: ${spec} is not HH:MM-HH:MM`);
  return { from: Number(m[1]) * 60 + Number(m[2]), to: Number(m[3]) * 60 + Number(m[4]) };
}

export function hoursRule(r: Readings, p: FoldingPrefs): RuleResult {
  if (p.hours === null) return OK;
  const { from, to } = parseHours(p.hours);
  const t = r.minuteOfDay;
  const inside = from === to || (from < to ? t >= from && t < to : t >= from || t < to);
  return inside ? OK : { ok: false, reason: `outside the allowed hours ${p.hours}` };
}

export function diskRule(r: Readings, p: FoldingPrefs): RuleResult {
  if (r.cacheBytes === null || r.cacheBytes < p.maxCacheBytes) return OK;
  const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
  return { ok: false, reason: `caches use ${gib(r.cacheBytes)} GiB (limit ${gib(p.maxCacheBytes)} GiB)` };
}

/** Whether the machine may take a job now, and every reason it may not. */
export function leaseVerdict(r: Readings, p: FoldingPrefs): { ok: boolean; reasons: string[] } {
  const reasons = [cpuRule, gpuRule, userIdleRule, batteryRule, hoursRule, diskRule]
    .map((rule) => rule(r, p))
    .flatMap((x) => (x.ok ? [] : [x.reason]));
  return { ok: reasons.length === 0, reasons };
}

/**
 * During a run: the owner is back when any rule about the owner fails (input, CPU, GPU,
 * battery, hours; the cache limit only gates new leases). Then the run is finished if it is
 * nearly done, otherwise given back at once (its half-run result is never reported).
 */
export function runVerdict(
  r: Readings,
  p: FoldingPrefs,
  doneFraction: number,
): { action: 'continue' } | { action: 'finish' | 'give-back'; reason: string } {
  for (const rule of [userIdleRule, cpuRule, gpuRule, batteryRule, hoursRule]) {
    const x = rule(r, p);
    if (!x.ok)
      return { action: doneFraction >= p.finishIfDoneFraction ? 'finish' : 'give-back', reason: x.reason };
  }
  return { action: 'continue' };
}
