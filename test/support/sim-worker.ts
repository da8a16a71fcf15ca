/**
 * A simulated worker for tests and benchmarks: a real API client (register, lease,
 * heartbeat-free short runs, complete) that runs no Python. Its val_bpb is computed from the
 * patched file's constants by a landscape function, plus Gaussian noise of known σ; it can
 * also lie or run throttled, to exercise the pipeline's defences.
 */
import type { HardwareProfile, JobOutcome, Lease } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { TRPCClientError } from '@trpc/client';

export const SIM_PROFILE: HardwareProfile = {
  backend: 'cpu',
  os: 'linux',
  arch: 'x64',
  cpuModel: 'Simulated CPU',
  cpuCores: 8,
  memoryGb: 16,
  gpus: [],
  chip: null,
};

/** Top-level `NAME = number` constants of a file. */
export function constantsOf(source: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of source.matchAll(/^([A-Z][A-Z0-9_]*)\s*=\s*([-+0-9.eE]+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Apply a patch's `+NAME = value` lines to the constants (enough for one-line edits). */
export function applyConstants(base: Record<string, number>, patch: string | null): Record<string, number> {
  const out = { ...base };
  if (!patch) return out;
  for (const m of patch.matchAll(/^\+([A-Z][A-Z0-9_]*)\s*=\s*([-+0-9.eE]+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

export interface SimOptions {
  url: string;
  token: string;
  name: string;
  file: string;
  landscape: (c: Record<string, number>) => number;
  sigma: number;
  seed: number;
  /** Simulated training time per run, ms. */
  runMs?: number;
  /** Added to candidate results (a liar reports negative numbers). */
  lie?: (lease: Lease) => number;
  /** Steps reported for a run (a throttled machine reports few). */
  steps?: (lease: Lease, n: number) => number;
}

/** A successful run's outcome with this val_bpb, as a worker reports it. */
export function okOutcome(value: number, steps = 400, leasedAt = Date.now()): JobOutcome {
  const now = Date.now();
  return {
    status: 'ok',
    metrics: {
      val_bpb: value,
      training_seconds: 1,
      total_seconds: 1,
      peak_vram_mb: null,
      mfu_percent: null,
      total_tokens_M: null,
      num_steps: steps,
      num_params_M: null,
      depth: null,
    },
    extra: {},
    logTail: '',
    timings: {
      leasedAt,
      checkoutMs: 0,
      prepareMs: 0,
      trainStartAt: leasedAt,
      trainExitAt: now,
      reportedAt: now,
    },
  };
}

export function createSimWorker(o: SimOptions) {
  const client = createClient(o.url, o.token);
  let s = o.seed >>> 0 || 1;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
  const files = new Map<string, Record<string, number>>();
  let stopped = false;
  let runs = 0;
  const done: Lease[] = [];
  /** Where a simulated worker's time goes (ms): training, waiting for work, the coordinator. */
  const time = { training: 0, idle: 0, leasing: 0, reporting: 0 };

  async function runOne(workerId: string, lease: Lease) {
    let base = files.get(lease.baseCommit);
    if (!base) {
      const f = await client.tracks.file.query({
        id: lease.track.id,
        commit: lease.baseCommit,
        path: o.file,
      });
      base = constantsOf(f.content);
      files.set(lease.baseCommit, base);
    }
    const leasedAt = Date.now();
    if (o.runMs) await new Promise((r) => setTimeout(r, o.runMs));
    time.training += Date.now() - leasedAt;
    runs++;
    const truth = o.landscape(applyConstants(base, lease.patch));
    const lie = lease.kind === 'candidate' ? (o.lie?.(lease) ?? 0) : 0;
    const value = truth + o.sigma * gauss() + lie;
    const steps = o.steps?.(lease, runs) ?? 400;
    const outcome = okOutcome(value, steps, leasedAt);
    const reportAt = Date.now();
    try {
      await client.workers.complete.mutate({
        workerId,
        experimentId: lease.experimentId,
        leaseToken: lease.leaseToken,
        outcome,
      });
    } catch (e) {
      // Like a real worker: a refused result (a lost lease) is dropped, anything else is a bug.
      if (!(e instanceof TRPCClientError && e.data?.ratchetCode)) throw e;
    }
    time.reporting += Date.now() - reportAt;
    done.push(lease);
  }

  return {
    done,
    time,
    get runs() {
      return runs;
    },
    async run(): Promise<void> {
      const { workerId } = await client.workers.register.mutate({ name: o.name, profile: SIM_PROFILE });
      while (!stopped) {
        const t0 = Date.now();
        const lease = (await client.workers.lease.mutate({ workerId, waitMs: 200 })).lease;
        if (lease) time.leasing += Date.now() - t0;
        else time.idle += Date.now() - t0;
        if (lease) await runOne(workerId, lease);
      }
    },
    stop() {
      stopped = true;
    },
  };
}

/** The stand-in track's landscape: val_bpb = QUALITY − BONUS. */
export const standinLandscape = (c: Record<string, number>) => (c.QUALITY ?? 1) - (c.BONUS ?? 0);

/** A unified diff that sets `BONUS = value` in the stand-in's train.py. */
export function bonusPatch(to: string): string {
  return [
    '--- a/train.py',
    '+++ b/train.py',
    '@@ -10,3 +10,3 @@',
    ' WIDTH = 64',
    '-BONUS = 0.000000  # subtracted from val_bpb',
    `+BONUS = ${to}  # subtracted from val_bpb`,
    ' ',
    '',
  ].join('\n');
}
