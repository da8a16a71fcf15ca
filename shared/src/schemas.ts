/** Every message between workers, coordinator and proposers, as zod schemas. */
import { z } from 'zod';
import { HardwareProfile } from './hardware.ts';
import { CrashReason, Progress, RunMetrics } from './runlog.ts';
import { TrackConfig, TrackId, TrackSync } from './track.ts';

export const CommitSha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit id');
export const Id = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/);
/** `viewer`: read-only (the dashboard, status, results). */
export const Role = z.enum(['admin', 'proposer', 'worker', 'viewer']);
export type Role = z.infer<typeof Role>;

// ---- workers ---------------------------------------------------------------
export const RegisterInput = z.object({
  name: z.string().min(1).max(100),
  profile: HardwareProfile,
  /** Limit the worker to these tracks; empty = every track its backend can run. */
  tracks: z.array(TrackId).max(100).default([]),
});
export type RegisterInput = z.infer<typeof RegisterInput>;
export const RegisterOutput = z.object({
  workerId: Id,
  hardwareClass: z.string(),
  heartbeatIntervalMs: z.number(),
  /** The tracks this worker will run, each on one of its backends, and those it skips and why. */
  tracks: z.array(z.object({ id: TrackId, backend: z.string(), hardwareClass: z.string() })).default([]),
  skipped: z.array(z.object({ id: TrackId, reason: z.string() })).default([]),
});
export type RegisterOutput = z.infer<typeof RegisterOutput>;

export const JobKind = z.enum(['baseline', 'candidate']);
export type JobKind = z.infer<typeof JobKind>;

export const LeaseInput = z.object({
  workerId: Id,
  waitMs: z.number().int().min(0).max(60_000).default(20_000),
});
export const LeasedTrack = z.object({
  id: TrackId,
  run: TrackConfig.shape.run,
  prepare: z.array(z.string()).nullable(),
  data: z.array(z.string()),
  budgetS: z.number(),
  hardTimeoutS: z.number(),
  prepareHash: z.string(),
  sync: TrackSync.nullable().default(null),
  prepareNetwork: z.boolean().default(false),
  /** Names of worker environment variables the track's runs may see (the track's `env`). */
  env: z.array(z.string().max(128)).max(100).optional(),
});
export const Lease = z.object({
  experimentId: Id,
  leaseToken: z.string().min(32).max(128),
  kind: JobKind,
  track: LeasedTrack,
  baseCommit: CommitSha,
  patch: z.string().nullable(),
  seed: z.number().int().nonnegative(),
  leaseTtlMs: z.number().int().positive(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** Path of the frontier repository under the coordinator's URL, e.g. `/git/frontier.git`. */
  gitPath: z.string(),
});
export type Lease = z.infer<typeof Lease>;
export const LeaseOutput = z.object({ lease: Lease.nullable() });

const LeaseRef = { workerId: Id, experimentId: Id, leaseToken: z.string().min(32).max(128) };
export const HeartbeatInput = z.object({ ...LeaseRef, progress: Progress.nullable() });
export type HeartbeatInput = z.infer<typeof HeartbeatInput>;

export const Timings = z.object({
  /** Epoch ms at which the worker received the lease. */
  leasedAt: z.number(),
  checkoutMs: z.number().nonnegative(),
  prepareMs: z.number().nonnegative(),
  /** Epoch ms of the training process's spawn and exit (null when it never started). */
  trainStartAt: z.number().nullable(),
  trainExitAt: z.number().nullable(),
  /** Epoch ms at which the worker sent its report. */
  reportedAt: z.number(),
});
export type Timings = z.infer<typeof Timings>;

const OutcomeBase = { timings: Timings, logTail: z.string().max(16_000) };
export const JobOutcome = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('ok'),
    metrics: RunMetrics,
    extra: z.record(z.string(), z.string()),
    ...OutcomeBase,
  }),
  z.object({
    status: z.literal('crash'),
    reason: CrashReason,
    message: z.string().max(2000),
    /** A worker-side failure's stable code (e.g. RATCHET_E_TOOLCHAIN_MISSING), also at the start of `message`. */
    code: z.string().max(100).optional(),
    ...OutcomeBase,
  }),
  z.object({ status: z.literal('patch_failed'), message: z.string().max(2000), ...OutcomeBase }),
]);
export type JobOutcome = z.infer<typeof JobOutcome>;
export const CompleteInput = z.object({ ...LeaseRef, outcome: JobOutcome });
export type CompleteInput = z.infer<typeof CompleteInput>;
/** Give a job back (shutdown, local trouble): it returns to the queue. */
export const ReleaseInput = z.object({ ...LeaseRef, reason: z.string().max(500) });

// ---- proposals ---------------------------------------------------------------
export const SubmitProposalInput = z.object({
  track: TrackId,
  /** Base commit; the track's head when omitted. */
  base: CommitSha.optional(),
  patch: z.string().min(1),
  description: z.string().min(1).max(500),
  proposer: z.string().min(1).max(100).default('human'),
  strategy: z.string().min(1).max(100).default('default'),
});
export type SubmitProposalInput = z.infer<typeof SubmitProposalInput>;

export const ProposalStatus = z.enum([
  'queued',
  'running',
  'awaiting_baseline',
  'confirming',
  'reverify',
  'merged',
  'discarded',
  'crashed',
  'patch_failed',
  'stale',
  'conflict',
  'quarantined',
  /** Never judged: its runs failed for reasons outside it (infrastructure, attempt limit). */
  'error',
]);
/** Statuses of a proposal still on its way: it may yet run, wait or merge. */
export const OPEN_PROPOSAL_STATUSES: readonly ProposalStatus[] = [
  'queued',
  'running',
  'awaiting_baseline',
  'confirming',
  'reverify',
];
/** Statuses a proposal never leaves. */
export const FINAL_PROPOSAL_STATUSES: readonly ProposalStatus[] = ProposalStatus.options.filter(
  (s) => !OPEN_PROPOSAL_STATUSES.includes(s),
);

/** The numbers behind a verdict (see coordinator/src/pipeline/stats.ts for the rule). */
export const DecisionRecord = z.object({
  verdict: z.enum(['accept', 'reject', 'replicate', 'wait']),
  reason: z.string(),
  hardwareClass: z.string(),
  candidateSamples: z.array(z.number()),
  baselineSamples: z.array(z.number()),
  n: z.number(),
  m: z.number(),
  candidateMean: z.number().nullable(),
  baselineMean: z.number().nullable(),
  delta: z.number().nullable(),
  sigma: z.number().nullable(),
  df: z.number(),
  t: z.number().nullable(),
  tCrit: z.number().nullable(),
  margin: z.number().nullable(),
});
export type DecisionRecord = z.infer<typeof DecisionRecord>;
export type ProposalStatus = z.infer<typeof ProposalStatus>;

export const Proposal = z.object({
  id: Id,
  track: TrackId,
  base: CommitSha,
  patch: z.string(),
  patchHash: z.string(),
  description: z.string(),
  proposer: z.string(),
  strategy: z.string(),
  status: ProposalStatus,
  createdAt: z.number(),
  experimentIds: z.array(Id),
  mergedCommit: CommitSha.nullable(),
  verdictReason: z.string().nullable(),
  decision: DecisionRecord.nullable().default(null),
  /** The conflicting hunk when a rebase onto a moved head failed. */
  conflict: z.string().nullable().default(null),
  /** The base it was proposed on, when it has been rebased since. */
  originalBase: CommitSha.nullable().default(null),
  rebases: z.number().int().nonnegative().default(0),
  throttleRequeues: z.number().int().nonnegative().default(0),
});
export type Proposal = z.infer<typeof Proposal>;

/** `cancelled`: dropped before it ran, because its proposal ended while it waited. */
export const ExperimentStatus = z.enum(['queued', 'running', 'ok', 'crash', 'patch_failed', 'cancelled']);
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;
export const Verdict = z.enum([
  'baseline',
  'keep',
  'discard',
  'crash',
  'stale',
  'pending',
  'promising',
  'throttled',
  'quarantined',
  'invalid',
  'conflict',
  /** No result: the run was given up on for reasons outside the patch (see `verdictReason`). */
  'error',
]);
export type Verdict = z.infer<typeof Verdict>;

export const Experiment = z.object({
  id: Id,
  track: TrackId,
  kind: JobKind,
  proposalId: Id.nullable(),
  base: CommitSha,
  /** Class that must run it (baselines), or that ran it (candidates). */
  hardwareClass: z.string().nullable(),
  status: ExperimentStatus,
  verdict: Verdict.nullable(),
  verdictReason: z.string().nullable(),
  workerId: Id.nullable(),
  seed: z.number().int(),
  metrics: RunMetrics.nullable(),
  extra: z.record(z.string(), z.string()).default({}),
  crash: z.object({ reason: CrashReason, message: z.string() }).nullable(),
  baselineBpb: z.number().nullable(),
  delta: z.number().nullable(),
  logTail: z.string(),
  timings: Timings.nullable(),
  progress: Progress.nullable(),
  createdAt: z.number(),
  leasedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** Epoch ms at which the coordinator recorded the result. */
  recordedAt: z.number().nullable(),
  attempts: z.number().int().nonnegative(),
  /** Times a worker gave it back for infrastructure reasons (a failing checkout, fetch or cache). */
  infraReleases: z.number().int().nonnegative().optional(),
  /**
   * Candidates: the first run (screen), a replicate (confirm), or a third principal's run
   * settling a screen and a confirmation that disagree (arbitrate).
   */
  stage: z.enum(['baseline', 'screen', 'confirm', 'arbitrate']).default('screen'),
  /** A confirmation of an untrusted screen must run on another worker. */
  excludeWorkerId: Id.nullable().default(null),
  /** Principals (worker tokens) that must not run it: an arbitration's parties. */
  excludePrincipals: z.array(z.string().max(200)).max(20).optional(),
  /** A run of a re-verification batch (the `Batch` record holds its state). */
  batchId: Id.nullable().default(null),
  /** A batch's run, and the proposals it served (a copy of the batch's members, for reports). */
  batch: z.boolean().default(false),
  members: z.array(Id).default([]),
  /** The patch this run applied, when it is not its proposal's (a batch's union). */
  patch: z.string().nullable().default(null),
});
export type Experiment = z.infer<typeof Experiment>;

export const BaselineSample = z.object({
  valBpb: z.number().positive(),
  steps: z.number().nullable(),
  /** Tokens trained, in millions, when the run reports them (throughput for throttle checks). */
  tokensM: z.number().nullable().default(null),
  /** Parameters in millions, when reported: tokens × parameters is the compute a run got. */
  paramsM: z.number().nullable().optional(),
  experimentId: Id,
  peakVramMb: z.number().nullable(),
  /** Who stands behind it: the registering token's id (the worker's id when unknown). */
  principal: z.string().max(200).nullable().optional(),
  /** Its worker was trusted on the class when it reported (`pipeline/baseline-trust.ts`). */
  trusted: z.boolean().optional(),
  workerId: Id.nullable().optional(),
});
export type BaselineSample = z.infer<typeof BaselineSample>;

export const TrackFiles = z.record(z.string().max(300), z.string().max(4_000_000));
export const AddTrackInput = z.object({ files: TrackFiles });
export type AddTrackInput = z.infer<typeof AddTrackInput>;
export const TrackInfo = z.object({
  config: TrackConfig,
  head: CommitSha,
  branch: z.string(),
  pinnedHashes: z.record(z.string(), z.string()),
  prepareHash: z.string(),
});
export type TrackInfo = z.infer<typeof TrackInfo>;

/**
 * Winners waiting for re-verification on one (track, class), run together as one patch (the
 * union composed onto the head when leased) so that several merge after one run. `open`:
 * taking members; `running`: frozen and composed on `base`, holds the class's run slot until
 * judged; then `merged`, `dissolved` (members re-verified alone), `judged` (a lone member,
 * judged as a re-verification of its own) or `dropped` (nothing left to run).
 */
export const BatchState = z.enum(['open', 'running', 'merged', 'dissolved', 'judged', 'dropped']);
export type BatchState = z.infer<typeof BatchState>;
export const Batch = z.object({
  id: Id,
  track: TrackId,
  hardwareClass: z.string(),
  state: BatchState,
  members: z.array(Id),
  /** The head the members were composed onto, and their union as one patch on it. */
  base: CommitSha.nullable(),
  patch: z.string().nullable(),
  /** Its runs (experiments), in order: the first, then replicates near the threshold. */
  runs: z.array(Id),
  createdAt: z.number(),
  /**
   * Speculative: composed on top of this batch's union while it still ran (`base` is that
   * union as a commit off the branch). Valid once the head's tree is `base`'s tree.
   */
  dependsOn: Id.nullable().default(null),
  /** A run that came back while the batch ahead was still undecided, to be judged after it. */
  waiting: Id.nullable().default(null),
  /**
   * A batch whose union some members did not compose onto: this batch waits for it to be
   * decided instead of speculating on it again (each try would fail the same way).
   */
  notOn: Id.nullable().default(null),
});
export type Batch = z.infer<typeof Batch>;
