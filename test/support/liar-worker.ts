/**
 * A scripted liar for tests: a real API client (register, lease, complete) holding an
 * ordinary worker token, which measures each leased job honestly and then reports its
 * val_bpb shifted by `shift` on the runs it is told to lie about.
 *
 * Honest measurement, by default: the stand-in track's own rule (val_bpb = QUALITY − BONUS of
 * the leased commit's train.py with the lease's patch applied), the exact number its
 * train.py would print; `sigma` adds seeded Gaussian noise, and `measure` replaces the rule
 * (another track, or a real run). What it lies about is chosen by run stage (`lieOn`):
 * baselines, screens, confirmations, or any mix; `lieWhen` narrows that further per lease.
 *
 * Every job it ran is logged with the truth and what it reported, so a test can count lies.
 */
import type { HardwareProfile, Lease } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { TRPCClientError } from '@trpc/client';
import { applyConstants, constantsOf, okOutcome, SIM_PROFILE, standinLandscape } from './sim-worker.ts';

export type RunStage = 'baseline' | 'screen' | 'confirm';

export interface LiarOptions {
  url: string;
  /** An ordinary worker token (or any token the test wants to lie with). */
  token: string;
  name: string;
  /** Added to the honest val_bpb on the runs it lies about (negative: claims a gain). */
  shift: number;
  /** Stages it lies on; default: every stage. */
  lieOn?: Partial<Record<RunStage, boolean>>;
  /** A further filter per job (e.g. only the first screen); default: always. */
  lieWhen?: (job: LiarJob) => boolean;
  /** The hardware profile it registers with; default: the simulated CPU box. */
  profile?: HardwareProfile;
  /** Tracks to register for; default: all. */
  tracks?: string[];
  /** The editable file whose constants the default measurement reads (default train.py). */
  file?: string;
  /** val_bpb from the patched file's constants; default: the stand-in's QUALITY − BONUS. */
  landscape?: (c: Record<string, number>) => number;
  /** Gaussian noise (σ) added to honest measurements; default 0 (the stand-in is exact). */
  sigma?: number;
  seed?: number;
  /** Replaces the default measurement entirely: the honest val_bpb of a leased job. */
  measure?: (lease: Lease, stage: RunStage) => Promise<number>;
  /** Long-poll per lease call, ms. */
  waitMs?: number;
}

/** One job the liar ran: what it measured and what it said. */
export interface LiarJob {
  experimentId: string;
  stage: RunStage;
  lease: Lease;
  truth: number;
  reported: number;
  lied: boolean;
  /** The coordinator refused the result (a lost lease): its code. */
  refused: string | null;
}

export function createLiarWorker(o: LiarOptions) {
  const client = createClient(o.url, o.token);
  let s = (o.seed ?? 1) >>> 0 || 1;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
  const files = new Map<string, Record<string, number>>();
  const jobs: LiarJob[] = [];
  let stopped = false;
  let workerId: string | null = null;
  let loop: Promise<void> | null = null;
  let failure: unknown = null;

  async function honest(lease: Lease, stage: RunStage): Promise<number> {
    if (o.measure) return o.measure(lease, stage);
    const file = o.file ?? 'train.py';
    const key = `${lease.track.id}:${lease.baseCommit}`;
    let base = files.get(key);
    if (!base) {
      const f = await client.tracks.file.query({ id: lease.track.id, commit: lease.baseCommit, path: file });
      base = constantsOf(f.content);
      files.set(key, base);
    }
    const truth = (o.landscape ?? standinLandscape)(applyConstants(base, lease.patch));
    return truth + (o.sigma ?? 0) * gauss();
  }

  async function stageOf(lease: Lease): Promise<RunStage> {
    if (lease.kind === 'baseline') return 'baseline';
    const e = await client.experiments.get.query({ id: lease.experimentId });
    return e.stage === 'confirm' ? 'confirm' : 'screen';
  }

  /** Run one leased job and report it (lying where told); returns the log entry. */
  async function runJob(id: string, lease: Lease): Promise<LiarJob> {
    const stage = await stageOf(lease);
    const truth = await honest(lease, stage);
    const job: LiarJob = {
      experimentId: lease.experimentId,
      stage,
      lease,
      truth,
      reported: truth,
      lied: false,
      refused: null,
    };
    if (o.shift !== 0 && (o.lieOn?.[stage] ?? !o.lieOn) && (o.lieWhen?.(job) ?? true)) {
      job.reported = truth + o.shift;
      job.lied = true;
    }
    try {
      await client.workers.complete.mutate({
        workerId: id,
        experimentId: lease.experimentId,
        leaseToken: lease.leaseToken,
        outcome: okOutcome(job.reported, 5),
      });
    } catch (e) {
      // Like a real worker: a refused result is dropped, anything else is a bug.
      if (!(e instanceof TRPCClientError && e.data?.ratchetCode)) throw e;
      job.refused = String(e.data.ratchetCode);
    }
    jobs.push(job);
    return job;
  }

  return {
    client,
    jobs,
    get workerId() {
      return workerId;
    },
    /** Register (once) and return the worker id. */
    async register(): Promise<string> {
      if (workerId) return workerId;
      const r = await client.workers.register.mutate({
        name: o.name,
        profile: o.profile ?? SIM_PROFILE,
        tracks: o.tracks ?? [],
      });
      workerId = r.workerId;
      return workerId;
    },
    /** Lease one job and run it; null when nothing came within the wait. */
    async step(waitMs = o.waitMs ?? 200): Promise<LiarJob | null> {
      const id = await this.register();
      const lease = (await client.workers.lease.mutate({ workerId: id, waitMs })).lease;
      return lease ? runJob(id, lease) : null;
    },
    /** Keep leasing and running until stop(). */
    start(): void {
      if (loop) return;
      loop = (async () => {
        while (!stopped) await this.step();
      })().catch((e: unknown) => {
        failure = e;
      });
    },
    /** Stop leasing; rethrows what ended the loop, if anything did. */
    async stop(): Promise<void> {
      stopped = true;
      await loop;
      if (failure) throw failure;
    },
    /** Jobs it lied about, by stage. */
    lies(): Record<RunStage, number> {
      const out: Record<RunStage, number> = { baseline: 0, screen: 0, confirm: 0 };
      for (const j of jobs) if (j.lied) out[j.stage]++;
      return out;
    },
  };
}

export type LiarWorker = ReturnType<typeof createLiarWorker>;
