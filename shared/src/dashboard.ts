/**
 * The dashboard's read model, as the coordinator sends it to the page and to `ratchet status`:
 * a full snapshot when a viewer connects, then diffs (the sections that changed, and the
 * experiment rows that changed) over server-sent events.
 */
import { z } from 'zod';
import { PortabilityMatrix } from './portability.ts';
import { Progress } from './runlog.ts';
import { ProposalStatus, Verdict } from './schemas.ts';

/** One experiment as a row: no patch and no log (the detail endpoint has those). */
export const DashExperiment = z.object({
  id: z.string(),
  track: z.string(),
  kind: z.enum(['baseline', 'candidate']),
  stage: z.enum(['baseline', 'screen', 'confirm', 'arbitrate']),
  /** A batch re-verification: several winners run as one patch. */
  batch: z.boolean(),
  members: z.array(z.string()),
  base: z.string(),
  proposalId: z.string().nullable(),
  description: z.string(),
  proposer: z.string().nullable(),
  strategy: z.string().nullable(),
  proposalStatus: ProposalStatus.nullable(),
  hardwareClass: z.string().nullable(),
  workerId: z.string().nullable(),
  workerName: z.string().nullable(),
  status: z.enum(['queued', 'running', 'ok', 'crash', 'patch_failed', 'cancelled']),
  verdict: Verdict.nullable(),
  /** Why it was kept or not, in words (the proposal's verdict when it has one). */
  reason: z.string().nullable(),
  valBpb: z.number().nullable(),
  baselineBpb: z.number().nullable(),
  delta: z.number().nullable(),
  crashReason: z.string().nullable(),
  /** The merge commit when this run's proposal was merged and this run is the kept one. */
  mergedCommit: z.string().nullable(),
  createdAt: z.number(),
  /** Epoch ms at which the result was recorded (null while queued or running). */
  recordedAt: z.number().nullable(),
});
export type DashExperiment = z.infer<typeof DashExperiment>;

export const WorkerState = z.enum(['leasing', 'preparing', 'running', 'idle', 'gone']);
export type WorkerState = z.infer<typeof WorkerState>;

export const DashWorker = z.object({
  id: z.string(),
  name: z.string(),
  hardwareClass: z.string(),
  backend: z.string(),
  state: WorkerState,
  /** The experiment it holds a lease on. */
  jobId: z.string().nullable(),
  jobLabel: z.string().nullable(),
  progress: Progress.nullable(),
  done: z.number().int().nonnegative(),
  /** Consecutive validated results on its class, and whether that makes it trusted. */
  trust: z.number().int().nonnegative(),
  trusted: z.boolean(),
  lastSeenAt: z.number(),
});
export type DashWorker = z.infer<typeof DashWorker>;

export const DashTrack = z.object({
  id: z.string(),
  description: z.string(),
  head: z.string(),
  budgetS: z.number(),
});
export type DashTrack = z.infer<typeof DashTrack>;

export const DashQueue = z.object({
  /** Jobs waiting per queue (`eval.<track>` and `eval.<track>.<class>`). */
  depths: z.record(z.string(), z.number()),
  /** What runs next, per queue, in the order workers will take it. */
  next: z.array(z.object({ queue: z.string(), experimentId: z.string(), label: z.string() })),
  /** Batch re-verifications queued or running. */
  batches: z.array(
    z.object({
      experimentId: z.string(),
      track: z.string(),
      hardwareClass: z.string().nullable(),
      status: z.string(),
      members: z.array(z.string()),
    }),
  ),
});
export type DashQueue = z.infer<typeof DashQueue>;

export const DashLeaderRow = z.object({
  track: z.string(),
  strategy: z.string(),
  proposer: z.string(),
  proposals: z.number(),
  evaluated: z.number(),
  confirmed: z.number(),
  merged: z.number(),
  gainByClass: z.record(z.string(), z.number()),
  gpuHours: z.number(),
  gainPerGpuHour: z.number(),
  invalidRate: z.number(),
});
export type DashLeaderRow = z.infer<typeof DashLeaderRow>;

export const DashSnapshot = z.object({
  at: z.number(),
  tracks: z.array(DashTrack),
  workers: z.array(DashWorker),
  queue: DashQueue,
  leaderboard: z.array(DashLeaderRow),
  /** Per track with merges: whether each merged gain held on the other classes. */
  portability: z.array(PortabilityMatrix),
  experiments: z.array(DashExperiment),
});
export type DashSnapshot = z.infer<typeof DashSnapshot>;

/** Sections of the snapshot that are replaced whole when they change. */
export type DashSection = 'tracks' | 'workers' | 'queue' | 'leaderboard' | 'portability';

export const DashMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), data: DashSnapshot }),
  z.object({
    type: z.literal('diff'),
    at: z.number(),
    tracks: z.array(DashTrack).optional(),
    workers: z.array(DashWorker).optional(),
    queue: DashQueue.optional(),
    leaderboard: z.array(DashLeaderRow).optional(),
    portability: z.array(PortabilityMatrix).optional(),
    /** Rows added or changed since the last message. */
    experiments: z.array(DashExperiment).optional(),
  }),
]);
export type DashMessage = z.infer<typeof DashMessage>;

/** One experiment in full, for the page's detail view. */
export const DashExperimentDetail = z.object({
  row: DashExperiment,
  patch: z.string().nullable(),
  logTail: z.string(),
  conflict: z.string().nullable(),
  decision: z
    .object({
      n: z.number(),
      m: z.number(),
      candidateMean: z.number().nullable(),
      baselineMean: z.number().nullable(),
      sigma: z.number().nullable(),
      t: z.number().nullable(),
      tCrit: z.number().nullable(),
    })
    .nullable(),
});
export type DashExperimentDetail = z.infer<typeof DashExperimentDetail>;
