/**
 * The merge train: merges into a track are serial (a Redis lock, so several coordinator
 * processes stay safe, plus an in-process chain). A confirmed winner whose base is the head
 * is committed with trailers, the branch moves by compare-and-swap, and its runs become
 * baseline samples of the new head on their class. A winner whose base is no longer the
 * head is rebased 3-way onto the head: a conflict is reported with its hunk; a clean rebase
 * must be re-verified on the new head before it may merge. Nothing found in parallel is
 * silently lost or overwritten.
 */
import { type DecisionRecord, ErrorCodes, type Proposal, RatchetError } from '@ratchet/shared';
import type { Frontier } from '../frontier/repo.ts';
import type { BatchMergeOutcome } from '../pipeline/batch-lifecycle.ts';
import type { MergeOutcome } from '../pipeline/lifecycle.ts';
import type { Store } from '../store/store.ts';

export type { BatchMergeOutcome, MergeOutcome };

export interface Clock {
  now(): number;
}

/** What the merge train needs, and nothing more. */
export interface MergeTrainInput {
  frontier: Pick<Frontier, 'head' | 'rebase' | 'commitPatch'>;
  store: Pick<Store, 'requireTrack' | 'putTrack' | 'addBaselineSample' | 'noteGain' | 'locks' | 'batches'>;
  clock: Clock;
  /** Told of every merge (the portability matrix); its failures never block a merge. */
  onMerged?: (note: {
    track: string;
    commit: string;
    parent: string;
    cls: string;
    at: number;
  }) => Promise<void>;
  /**
   * Records a merge's runs as baselines of its commit (`baselines/baseline-verify.ts`: an
   * untrusted worker's lone run waits for another principal's baseline to agree). Default:
   * they count at once.
   */
  recordRuns?: (track: string, commit: string, cls: string, runs: Winner['runs']) => Promise<void>;
}

export interface Winner {
  proposal: Proposal;
  /** The batch this winner was re-verified in, which still holds its class's run slot. */
  ownBatch?: string | null;
  decision: DecisionRecord;
  /** The candidate runs on the base, which become baselines of the merge commit. */
  runs: {
    experimentId: string;
    valBpb: number;
    steps: number | null;
    tokensM: number | null;
    peakVramMb: number | null;
  }[];
}

/** Winners re-verified together on one head (`merge/batches.ts`), merged as one commit. */
export interface BatchWinner {
  batchId: string;
  track: string;
  base: string;
  patch: string;
  members: Proposal[];
  decision: DecisionRecord;
  run: Winner['runs'][number];
}

const LOCK_TTL_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

export function mergeTrailers(w: Winner, experimentId: string): string {
  const d = w.decision;
  const num = (x: number | null) => (x === null ? 'n/a' : x.toFixed(6));
  const signed = (x: number | null) => (x === null ? 'n/a' : (x >= 0 ? '+' : '') + x.toFixed(6));
  return [
    `Ratchet-Experiment: ${experimentId}`,
    `Ratchet-Proposal: ${w.proposal.id}`,
    `Ratchet-Hardware: ${d.hardwareClass}`,
    `Ratchet-Val-Bpb: ${num(d.candidateMean)}`,
    `Ratchet-Baseline-Bpb: ${num(d.baselineMean)}`,
    `Ratchet-Delta: ${signed(d.delta)}`,
    `Ratchet-Sigma: ${num(d.sigma)}`,
    `Ratchet-Proposer: ${w.proposal.proposer}`,
    `Ratchet-Strategy: ${w.proposal.strategy}`,
    `Ratchet-Replicates: ${d.n}`,
  ].join('\n');
}

export function batchTrailers(b: BatchWinner): string {
  const d = b.decision;
  const num = (x: number | null) => (x === null ? 'n/a' : x.toFixed(6));
  const signed = (x: number | null) => (x === null ? 'n/a' : (x >= 0 ? '+' : '') + x.toFixed(6));
  const uniq = (xs: string[]) => [...new Set(xs)].join(', ');
  return [
    `Ratchet-Experiment: ${b.run.experimentId}`,
    ...b.members.map((p) => `Ratchet-Proposal: ${p.id}`),
    `Ratchet-Hardware: ${d.hardwareClass}`,
    `Ratchet-Val-Bpb: ${num(d.candidateMean)}`,
    `Ratchet-Baseline-Bpb: ${num(d.baselineMean)}`,
    `Ratchet-Delta: ${signed(d.delta)}`,
    `Ratchet-Sigma: ${num(d.sigma)}`,
    `Ratchet-Proposer: ${uniq(b.members.map((p) => p.proposer))}`,
    `Ratchet-Strategy: ${uniq(b.members.map((p) => p.strategy))}`,
    `Ratchet-Replicates: ${d.n}`,
  ].join('\n');
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 200) || 'ratchet improvement';
}

/** What the train spent, per kind of call: how long calls queued for it, and held it. */
export interface TrainUse {
  calls: number;
  waitMs: number;
  holdMs: number;
}
type TrainCall = 'merge' | 'mergeBatch' | 'exclusive';

export function createMergeTrain({ frontier, store, clock, onMerged, recordRuns }: MergeTrainInput) {
  const chains = new Map<string, Promise<unknown>>();
  const use: Record<TrainCall, TrainUse> = {
    merge: { calls: 0, waitMs: 0, holdMs: 0 },
    mergeBatch: { calls: 0, waitMs: 0, holdMs: 0 },
    exclusive: { calls: 0, waitMs: 0, holdMs: 0 },
  };

  async function withLock<T>(track: string, fn: () => Promise<T>): Promise<T> {
    const name = `merge:${track}`;
    const deadline = clock.now() + LOCK_WAIT_MS;
    let token = await store.locks.tryAcquire(name, LOCK_TTL_MS);
    while (token === null) {
      if (clock.now() > deadline)
        throw new RatchetError(ErrorCodes.MERGE_BUSY, `merge lock on ${track} is held`);
      await new Promise((r) => setTimeout(r, 50));
      token = await store.locks.tryAcquire(name, LOCK_TTL_MS);
    }
    try {
      return await fn();
    } finally {
      await store.locks.release(name, token);
    }
  }

  /**
   * A batch other than `own` holds the track's run slot (it was composed on the head), or
   * runs speculatively on top of the one that does.
   */
  async function batchHoldsSlot(track: string, own: string | null): Promise<boolean> {
    for (const id of [await store.batches.slotHolder(track), await store.batches.nextHolder(track)]) {
      if (!id || id === own) continue;
      const b = await store.batches.get(id);
      // A speculative batch on top of `own` expects `own` to merge.
      if (b?.state === 'running' && (own === null || b.dependsOn !== own)) return true;
    }
    return false;
  }

  async function mergeNow(w: Winner): Promise<MergeOutcome> {
    const p = w.proposal;
    // Checked under the lock that also guards composing a batch (`exclusive`): a batch
    // composed on the head and a direct merge moving it can never overlap.
    if (await batchHoldsSlot(p.track, w.ownBatch ?? null)) return { status: 'batch-running' };
    const head = await frontier.head(p.track);
    if (!head) throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `track ${p.track} has no branch`);
    if (head !== p.base) {
      const r = await frontier.rebase(p.base, p.patch, head);
      if (r.status === 'conflict') return { status: 'conflict', head, hunk: r.hunk };
      if (r.patch.trim() === '')
        return { status: 'stale', head, reason: 'the head already holds this change' };
      return { status: 'reverify', head, patch: r.patch };
    }
    const last = w.runs[w.runs.length - 1]?.experimentId ?? 'unknown';
    const message = `${oneLine(p.description)}\n\n${mergeTrailers(w, last)}\n`;
    const commit = await frontier.commitPatch({
      trackId: p.track,
      base: head,
      patch: p.patch,
      message,
      beforeAdvance: (c) => asBaselines(p.track, c, w.decision, w.runs),
    });
    await advanced(p.track, commit, w.decision);
    return { status: 'merged', commit };
  }

  /**
   * A merge's runs, recorded as baselines of its commit before the branch moves there: a worker
   * leasing on the new head in between found none and queued two needless baseline runs.
   */
  async function asBaselines(track: string, commit: string, d: DecisionRecord, runs: Winner['runs']) {
    if (recordRuns) await recordRuns(track, commit, d.hardwareClass, runs);
    else
      for (const r of runs) {
        await store.addBaselineSample(track, commit, d.hardwareClass, {
          valBpb: r.valBpb,
          steps: r.steps,
          tokensM: r.tokensM,
          experimentId: r.experimentId,
          peakVramMb: r.peakVramMb,
        });
      }
  }

  /** The branch moved to `commit`: record it and the gain. */
  async function advanced(track: string, commit: string, d: DecisionRecord) {
    const info = await store.requireTrack(track);
    await store.putTrack({ ...info, head: commit });
    if (d.delta !== null) await store.noteGain(track, d.hardwareClass, -d.delta);
    await onMerged?.({ track, commit, parent: info.head, cls: d.hardwareClass, at: clock.now() });
  }

  async function mergeBatchNow(b: BatchWinner): Promise<BatchMergeOutcome> {
    const head = await frontier.head(b.track);
    if (!head) throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `track ${b.track} has no branch`);
    if (head !== b.base) return { status: 'moved', head };
    const list = b.members.map((p) => `- ${oneLine(p.description)}`).join('\n');
    const message = `${b.members.length} improvements, re-verified together\n\n${list}\n\n${batchTrailers(b)}\n`;
    const commit = await frontier.commitPatch({
      trackId: b.track,
      base: head,
      patch: b.patch,
      message,
      beforeAdvance: (c) => asBaselines(b.track, c, b.decision, [b.run]),
    });
    await advanced(b.track, commit, b.decision);
    return { status: 'merged', commit };
  }

  function serial<T>(track: string, kind: TrainCall, fn: () => Promise<T>): Promise<T> {
    const prev = chains.get(track) ?? Promise.resolve();
    const queued = clock.now();
    const next = prev
      .catch(() => {})
      .then(async () => {
        const start = clock.now();
        try {
          return await withLock(track, fn);
        } finally {
          const u = use[kind];
          u.calls++;
          u.waitMs += start - queued;
          u.holdMs += clock.now() - start;
        }
      });
    chains.set(track, next);
    return next;
  }

  return {
    merge: (w: Winner): Promise<MergeOutcome> => serial(w.proposal.track, 'merge', () => mergeNow(w)),
    mergeBatch: (b: BatchWinner): Promise<BatchMergeOutcome> =>
      serial(b.track, 'mergeBatch', () => mergeBatchNow(b)),
    /** Run `fn` in the track's merge order, under its lock: the head does not move meanwhile. */
    exclusive: <T>(track: string, fn: () => Promise<T>): Promise<T> => serial(track, 'exclusive', fn),
    /** Calls so far, and the time they queued for the train and held it (for benchmarks). */
    use: (): Record<TrainCall, TrainUse> => structuredClone(use),
  };
}
export type MergeTrain = ReturnType<typeof createMergeTrain>;
