/**
 * Folding mode at run time: take readings every `checkIntervalS`, hold off leasing until the
 * rules pass, and tell a running job when its owner is back.
 */
import { diskUsage } from '../sandbox/disk.ts';
import { readOnBattery } from './readers/battery.ts';
import { createCpuSampler } from './readers/cpu.ts';
import { readForeignGpuPids } from './readers/gpu.ts';
import { readUserIdleMs } from './readers/user-idle.ts';
import { type FoldingPrefs, leaseVerdict, type Readings, runVerdict } from './rules.ts';

export interface ReadingSources {
  otherCpu(): Promise<number | null>;
  foreignGpuPids(): Promise<number[] | null>;
  userIdleMs(): Promise<number | null>;
  onBattery(): Promise<boolean | null>;
  cacheBytes(): Promise<number | null>;
  minuteOfDay(): number;
}

/** This machine's readers. The cache is measured at most once a minute (a walk of the folder). */
export function machineSources(cacheDir: string): ReadingSources {
  const cpu = createCpuSampler();
  let cache: { at: number; bytes: number } | null = null;
  return {
    otherCpu: cpu,
    foreignGpuPids: () => readForeignGpuPids(),
    userIdleMs: () => readUserIdleMs(),
    onBattery: () => readOnBattery(),
    async cacheBytes() {
      if (!cache || Date.now() - cache.at > 60_000)
        cache = { at: Date.now(), bytes: await diskUsage(cacheDir) };
      return cache.bytes;
    },
    minuteOfDay() {
      const d = new Date();
      return d.getHours() * 60 + d.getMinutes();
    },
  };
}

export async function takeReadings(s: ReadingSources): Promise<Readings> {
  const [otherCpu, foreignGpuPids, userIdleMs, onBattery, cacheBytes] = await Promise.all([
    s.otherCpu(),
    s.foreignGpuPids(),
    s.userIdleMs(),
    s.onBattery(),
    s.cacheBytes(),
  ]);
  return { otherCpu, foreignGpuPids, userIdleMs, onBattery, cacheBytes, minuteOfDay: s.minuteOfDay() };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createFoldingGate(prefs: FoldingPrefs, sources: ReadingSources, log: (m: string) => void) {
  const intervalMs = prefs.checkIntervalS * 1000;
  return {
    prefs,
    /** Resolves true once the machine may take a job; false if `signal` fires first. */
    async waitUntilIdle(signal: AbortSignal): Promise<boolean> {
      // The CPU sampler needs two samples: take one now so the next reading has a delta.
      await sources.otherCpu();
      let lastReasons = '';
      for (;;) {
        await sleep(Math.min(intervalMs, 1_000), signal);
        if (signal.aborted) return false;
        const v = leaseVerdict(await takeReadings(sources), prefs);
        if (v.ok) return true;
        const reasons = v.reasons.join('; ');
        if (reasons !== lastReasons) log(`folding: waiting (${reasons})`);
        lastReasons = reasons;
        await sleep(intervalMs, signal);
      }
    },
    /**
     * Watch a running job. `onBack` is called once, with the action, when the owner returns:
     * `give-back` (stop and release now) or `finish` (nearly done: let it end).
     */
    watchRun(doneFraction: () => number, onBack: (action: 'give-back' | 'finish', reason: string) => void) {
      const stop = new AbortController();
      void (async () => {
        await sources.otherCpu();
        while (!stop.signal.aborted) {
          await sleep(intervalMs, stop.signal);
          if (stop.signal.aborted) return;
          const v = runVerdict(await takeReadings(sources), prefs, doneFraction());
          if (v.action !== 'continue') {
            if (!stop.signal.aborted) onBack(v.action, v.reason);
            return;
          }
        }
      })();
      return () => stop.abort();
    },
  };
}
export type FoldingGate = ReturnType<typeof createFoldingGate>;
