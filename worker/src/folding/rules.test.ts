import { describe, expect, it } from 'vitest';
import {
  batteryRule,
  cpuRule,
  diskRule,
  FoldingPrefs,
  gpuRule,
  hoursRule,
  leaseVerdict,
  type Readings,
  runVerdict,
  userIdleRule,
} from './rules.ts';

const prefs = FoldingPrefs.parse({});
const idle: Readings = {
  otherCpu: 0.05,
  foreignGpuPids: [],
  userIdleMs: 10 * 60_000,
  onBattery: false,
  cacheBytes: 1024,
  minuteOfDay: 3 * 60,
};

describe('folding rules', () => {
  it('has defaults a volunteer can live with', () => {
    expect(prefs).toMatchObject({
      maxOtherCpuPct: 25,
      idleMinutes: 3,
      requireFreeGpu: true,
      allowOnBattery: false,
      hours: null,
      finishIfDoneFraction: 0.9,
    });
  });

  it('leases on an idle machine', () => {
    expect(leaseVerdict(idle, prefs)).toEqual({ ok: true, reasons: [] });
  });

  it('waits while other processes use more CPU than allowed', () => {
    expect(cpuRule({ ...idle, otherCpu: 0.3 }, prefs)).toEqual({
      ok: false,
      reason: 'other processes use 30% CPU (limit 25%)',
    });
    expect(cpuRule({ ...idle, otherCpu: 0.25 }, prefs).ok).toBe(true);
    expect(cpuRule({ ...idle, otherCpu: null }, prefs).ok).toBe(true);
  });

  it('waits while a foreign process holds the GPU, unless allowed', () => {
    expect(gpuRule({ ...idle, foreignGpuPids: [4242] }, prefs)).toEqual({
      ok: false,
      reason: 'the GPU is in use by pid 4242',
    });
    expect(gpuRule({ ...idle, foreignGpuPids: [4242] }, { ...prefs, requireFreeGpu: false }).ok).toBe(true);
    expect(gpuRule({ ...idle, foreignGpuPids: null }, prefs).ok).toBe(true);
  });

  it('waits until the user has been idle N minutes; a headless box counts as idle', () => {
    expect(userIdleRule({ ...idle, userIdleMs: 170_000 }, prefs).ok).toBe(false);
    expect(userIdleRule({ ...idle, userIdleMs: 180_000 }, prefs).ok).toBe(true);
    expect(userIdleRule({ ...idle, userIdleMs: null }, prefs).ok).toBe(true);
    expect(userIdleRule({ ...idle, userIdleMs: 0 }, { ...prefs, idleMinutes: 0 }).ok).toBe(true);
  });

  it('does not run on battery unless allowed', () => {
    expect(batteryRule({ ...idle, onBattery: true }, prefs)).toEqual({
      ok: false,
      reason: 'on battery power',
    });
    expect(batteryRule({ ...idle, onBattery: true }, { ...prefs, allowOnBattery: true }).ok).toBe(true);
    expect(batteryRule({ ...idle, onBattery: null }, prefs).ok).toBe(true);
  });

  it('runs only within the allowed hours, also across midnight', () => {
    const night = { ...prefs, hours: '22:00-07:30' };
    const at = (h: number, m = 0) => hoursRule({ ...idle, minuteOfDay: h * 60 + m }, night).ok;
    expect([at(22), at(23, 59), at(0), at(7, 29)]).toEqual([true, true, true, true]);
    expect([at(7, 30), at(12), at(21, 59)]).toEqual([false, false, false]);
    const day = { ...prefs, hours: '09:00-17:00' };
    expect(hoursRule({ ...idle, minuteOfDay: 9 * 60 }, day).ok).toBe(true);
    expect(hoursRule({ ...idle, minuteOfDay: 17 * 60 }, day).ok).toBe(false);
    expect(() => FoldingPrefs.parse({ hours: '25:00-01:00' })).toThrow();
  });

  it('stops leasing when the caches pass their limit', () => {
    expect(diskRule({ ...idle, cacheBytes: prefs.maxCacheBytes }, prefs).ok).toBe(false);
    expect(diskRule({ ...idle, cacheBytes: prefs.maxCacheBytes - 1 }, prefs).ok).toBe(true);
  });

  it('lists every reason it waits', () => {
    const v = leaseVerdict({ ...idle, otherCpu: 0.9, onBattery: true }, prefs);
    expect(v.ok).toBe(false);
    expect(v.reasons).toHaveLength(2);
  });
});

describe('when the owner returns mid-run', () => {
  const back = { ...idle, userIdleMs: 2_000 };
  it('gives the job back at once when it is not nearly done', () => {
    expect(runVerdict(back, prefs, 0.4)).toEqual({
      action: 'give-back',
      reason: 'the user was active 2 s ago (waits 3 min)',
    });
  });
  it('finishes a run that is nearly done', () => {
    expect(runVerdict(back, prefs, 0.95).action).toBe('finish');
  });
  it('keeps running while the owner is away, whatever the caches hold', () => {
    expect(runVerdict({ ...idle, cacheBytes: prefs.maxCacheBytes * 2 }, prefs, 0.1)).toEqual({
      action: 'continue',
    });
  });
  it('gives way to a foreign GPU process, battery and the end of the allowed hours too', () => {
    expect(runVerdict({ ...idle, foreignGpuPids: [7] }, prefs, 0).action).toBe('give-back');
    expect(runVerdict({ ...idle, onBattery: true }, prefs, 0).action).toBe('give-back');
    expect(runVerdict({ ...idle, minuteOfDay: 12 * 60 }, { ...prefs, hours: '22:00-07:00' }, 0).action).toBe(
      'give-back',
    );
  });
});
