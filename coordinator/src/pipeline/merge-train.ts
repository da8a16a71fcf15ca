/**
 * The merge train: merges into a track are serial (a Redis lock, so several coordinator
 * processes stay safe, plus an in-process chain). A confirmed winner whose base is the head
 * is committed with trailers, the branch moves by compare-and-swap, and its runs become
 * baseline samples of the new head on their class. A winner whose base is no longer the
 * head is rebased 3-way onto the head: a conflict is reported with its hunk; a clean rebase
 * must be re-verified on the new head before it may merge. Nothing found in parallel is
 * silently lost or overwritten.
 */
import { randomBytes } from 'node:crypto';
import { type DecisionRecord, ErrorCodes, type Proposal, RatchetError } from '@ratchet/shared';
import type { Deps } from '../service/deps.ts';
import { onMerged } from '../service/portability.ts';

export type MergeOutcome =
  | { status: 'merged'; commit: string }
  | { status: 'reverify'; head: string; patch: string }
  | { status: 'conflict'; head: string; hunk: string }
  | { status: 'stale'; head: string; reason: string };

export interface Winner {
  proposal: Proposal;
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

/** Winners re-verified together on one head (`service/batches.ts`), merged as one commit. */
export interface BatchWinner {
  track: string;
  base: string;
  patch: string;
  members: Proposal[];
  decision: DecisionRecord;
  run: Winner['runs'][number];
}

export type BatchMergeOutcome = { status: 'merged'; commit: string } | { status: 'moved'; head: string };

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

export function createMergeTrain(deps: Deps) {
  const chains = new Map<string, Promise<unknown>>();

  async function withLock<T>(track: string, fn: () => Promise<T>): Promise<T> {
    const key = deps.store.key('lock', 'merge', track);
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await deps.store.redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline)
        throw new RatchetError(ErrorCodes.MERGE_BUSY, `merge lock on ${track} is held`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      return await fn();
    } finally {
      await deps.store.redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        key,
        token,
      );
    }
  }

  async function mergeNow(w: Winner): Promise<MergeOutcome> {
    const p = w.proposal;
    const head = await deps.frontier.head(p.track);
    if (!head) throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `track ${p.track} has no branch`);
    if (head !== p.base) {
      const r = await deps.frontier.rebase(p.base, p.patch, head);
      if (r.status === 'conflict') return { status: 'conflict', head, hunk: r.hunk };
      if (r.patch.trim() === '')
        return { status: 'stale', head, reason: 'the head already holds this change' };
      return { status: 'reverify', head, patch: r.patch };
    }
    const last = w.runs[w.runs.length - 1]?.experimentId ?? 'unknown';
    const message = `${oneLine(p.description)}\n\n${mergeTrailers(w, last)}\n`;
    const commit = await deps.frontier.commitPatch({ trackId: p.track, base: head, patch: p.patch, message });
    await advanced(p.track, commit, w.decision, w.runs);
    return { status: 'merged', commit };
  }

  /** The branch moved to `commit`: record it, its runs as its baselines, and the gain. */
  async function advanced(track: string, commit: string, d: DecisionRecord, runs: Winner['runs']) {
    const info = await deps.store.requireTrack(track);
    await deps.store.putTrack({ ...info, head: commit });
    for (const r of runs) {
      await deps.store.addBaselineSample(track, commit, d.hardwareClass, {
        valBpb: r.valBpb,
        steps: r.steps,
        tokensM: r.tokensM,
        experimentId: r.experimentId,
        peakVramMb: r.peakVramMb,
      });
    }
    if (d.delta !== null) await deps.store.noteGain(track, d.hardwareClass, -d.delta);
    await onMerged(deps, { track, commit, parent: info.head, cls: d.hardwareClass, at: deps.clock.now() });
  }

  async function mergeBatchNow(b: BatchWinner): Promise<BatchMergeOutcome> {
    const head = await deps.frontier.head(b.track);
    if (!head) throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `track ${b.track} has no branch`);
    if (head !== b.base) return { status: 'moved', head };
    const list = b.members.map((p) => `- ${oneLine(p.description)}`).join('\n');
    const message = `${b.members.length} improvements, re-verified together\n\n${list}\n\n${batchTrailers(b)}\n`;
    const commit = await deps.frontier.commitPatch({ trackId: b.track, base: head, patch: b.patch, message });
    await advanced(b.track, commit, b.decision, [b.run]);
    return { status: 'merged', commit };
  }

  function serial<T>(track: string, fn: () => Promise<T>): Promise<T> {
    const prev = chains.get(track) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => withLock(track, fn));
    chains.set(track, next);
    return next;
  }

  return {
    merge: (w: Winner): Promise<MergeOutcome> => serial(w.proposal.track, () => mergeNow(w)),
    mergeBatch: (b: BatchWinner): Promise<BatchMergeOutcome> => serial(b.track, () => mergeBatchNow(b)),
  };
}
export type MergeTrain = ReturnType<typeof createMergeTrain>;
