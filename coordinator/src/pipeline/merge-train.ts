/**
 * The merge train, first version: merges into a track are serial (a Redis lock, so that
 * several coordinator processes stay safe, plus an in-process chain). A winner whose base
 * is still the head is committed with trailers and the branch moves by compare-and-swap;
 * the winning run becomes the new head's baseline on its class. A winner whose base is no
 * longer the head is reported `stale` (rebase and re-verification come later).
 */
import { randomBytes } from 'node:crypto';
import { ErrorCodes, type Experiment, type Proposal, RatchetError } from '@ratchet/shared';
import type { Deps } from '../service/deps.ts';

export type MergeOutcome = { status: 'merged'; commit: string } | { status: 'stale'; head: string };

const LOCK_TTL_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

export function mergeTrailers(p: Proposal, e: Experiment, replicates: number): string {
  const val = e.metrics?.val_bpb ?? Number.NaN;
  const delta = e.delta ?? Number.NaN;
  return [
    `Ratchet-Experiment: ${e.id}`,
    `Ratchet-Proposal: ${p.id}`,
    `Ratchet-Hardware: ${e.hardwareClass ?? 'unknown'}`,
    `Ratchet-Val-Bpb: ${val.toFixed(6)}`,
    `Ratchet-Delta: ${(delta >= 0 ? '+' : '') + delta.toFixed(6)}`,
    `Ratchet-Proposer: ${p.proposer}`,
    `Ratchet-Strategy: ${p.strategy}`,
    `Ratchet-Replicates: ${replicates}`,
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

  async function mergeNow(p: Proposal, e: Experiment): Promise<MergeOutcome> {
    const head = await deps.frontier.head(p.track);
    if (!head) throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `track ${p.track} has no branch`);
    if (head !== p.base) return { status: 'stale', head };
    const message = `${oneLine(p.description)}\n\n${mergeTrailers(p, e, 1)}\n`;
    const commit = await deps.frontier.commitPatch({ trackId: p.track, base: head, patch: p.patch, message });
    const info = await deps.store.requireTrack(p.track);
    await deps.store.putTrack({ ...info, head: commit });
    if (e.hardwareClass && e.metrics) {
      await deps.store.putBaselineIfAbsent({
        track: p.track,
        commit,
        hardwareClass: e.hardwareClass,
        valBpb: e.metrics.val_bpb,
        experimentId: e.id,
        peakVramMb: e.metrics.peak_vram_mb,
      });
    }
    return { status: 'merged', commit };
  }

  return {
    merge(p: Proposal, e: Experiment): Promise<MergeOutcome> {
      const prev = chains.get(p.track) ?? Promise.resolve();
      const next = prev.catch(() => {}).then(() => withLock(p.track, () => mergeNow(p, e)));
      chains.set(p.track, next);
      return next;
    },
  };
}
export type MergeTrain = ReturnType<typeof createMergeTrain>;
