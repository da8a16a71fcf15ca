/**
 * The dashboard's read model, pure: records from the store in, rows and sections out, and
 * the diff between two snapshots. No I/O here (source.ts reads, hub.ts sends).
 */
import type {
  DashExperiment,
  DashMessage,
  DashSection,
  DashSnapshot,
  DashWorker,
  Experiment,
  Progress,
  Proposal,
  WorkerState,
} from '@ratchet/shared';
import type { WorkerRecord } from '../store/store.ts';

export function describeExperiment(
  e: Pick<Experiment, 'kind' | 'base' | 'batch' | 'members' | 'proposalId'>,
  p: Pick<Proposal, 'description'> | null,
  proposalOf: (id: string) => Pick<Proposal, 'description'> | undefined,
): string {
  if (e.kind === 'baseline') return `baseline ${e.base.slice(0, 7)}`;
  if (e.batch && e.members.length > 1) {
    return `together: ${e.members.map((id) => proposalOf(id)?.description ?? id).join('; ')}`;
  }
  return p?.description ?? e.proposalId ?? '?';
}

export function experimentRow(
  e: Experiment,
  p: Proposal | null,
  workerName: string | null,
  proposalOf: (id: string) => Proposal | undefined,
): DashExperiment {
  return {
    id: e.id,
    track: e.track,
    kind: e.kind,
    stage: e.stage,
    batch: e.batch,
    members: e.members,
    base: e.base,
    proposalId: e.proposalId,
    description: describeExperiment(e, p, proposalOf),
    proposer: p?.proposer ?? (e.kind === 'baseline' ? 'ratchet' : null),
    strategy: p?.strategy ?? null,
    proposalStatus: p?.status ?? null,
    hardwareClass: e.hardwareClass,
    workerId: e.workerId,
    workerName,
    status: e.status,
    verdict: e.verdict,
    reason: e.verdictReason ?? p?.verdictReason ?? null,
    valBpb: e.metrics?.val_bpb ?? null,
    baselineBpb: e.baselineBpb,
    delta: e.delta,
    crashReason: e.crash ? `${e.crash.reason}: ${e.crash.message}`.slice(0, 300) : null,
    mergedCommit: p?.mergedCommit && e.verdict === 'keep' ? p.mergedCommit : null,
    createdAt: e.createdAt,
    recordedAt: e.recordedAt,
  };
}

export interface WorkerStateOptions {
  now: number;
  /** A worker silent longer than this is gone (its lease will expire). */
  liveWindowMs: number;
  /** A worker without a job seen this recently is in a lease long poll. */
  pollWindowMs: number;
}

export function workerState(
  w: Pick<WorkerRecord, 'lastSeenAt'>,
  job: Pick<Experiment, 'id'> | null,
  progress: Progress | null,
  o: WorkerStateOptions,
): WorkerState {
  const silentMs = o.now - w.lastSeenAt;
  if (silentMs > o.liveWindowMs) return 'gone';
  if (job) return progress?.step !== null && progress?.step !== undefined ? 'running' : 'preparing';
  return silentMs <= o.pollWindowMs ? 'leasing' : 'idle';
}

export function workerRow(
  w: WorkerRecord,
  job: DashExperiment | null,
  progress: Progress | null,
  done: number,
  trust: number,
  trustThreshold: number,
  o: WorkerStateOptions,
): DashWorker {
  return {
    id: w.id,
    name: w.name,
    hardwareClass: w.hardwareClass,
    backend: w.backend,
    state: workerState(w, job, progress, o),
    jobId: job?.id ?? null,
    jobLabel: job ? `${job.stage} ${job.description}`.slice(0, 200) : null,
    progress: job ? progress : null,
    done,
    trust,
    trusted: w.trusted || trust >= trustThreshold,
    lastSeenAt: w.lastSeenAt,
  };
}

/** JSON of each part of a snapshot, to compare cheaply with the next one. */
export interface SnapshotKeys {
  sections: Record<DashSection, string>;
  experiments: Map<string, string>;
}

const SECTIONS: readonly DashSection[] = ['tracks', 'workers', 'queue', 'leaderboard', 'portability'];

export function keysOf(s: DashSnapshot): SnapshotKeys {
  return {
    sections: {
      tracks: JSON.stringify(s.tracks),
      workers: JSON.stringify(s.workers),
      queue: JSON.stringify(s.queue),
      leaderboard: JSON.stringify(s.leaderboard),
      portability: JSON.stringify(s.portability),
    },
    experiments: new Map(s.experiments.map((e) => [e.id, JSON.stringify(e)])),
  };
}

/** What changed from `prev` to `next`, or null when nothing did. */
export function diffSnapshots(
  prev: SnapshotKeys,
  next: DashSnapshot,
  nextKeys: SnapshotKeys,
): DashMessage | null {
  const msg: Extract<DashMessage, { type: 'diff' }> = { type: 'diff', at: next.at };
  let changed = false;
  for (const s of SECTIONS) {
    if (prev.sections[s] !== nextKeys.sections[s]) {
      (msg as Record<string, unknown>)[s] = next[s];
      changed = true;
    }
  }
  const rows = next.experiments.filter((e) => prev.experiments.get(e.id) !== nextKeys.experiments.get(e.id));
  if (rows.length > 0) {
    msg.experiments = rows;
    changed = true;
  }
  return changed ? msg : null;
}
