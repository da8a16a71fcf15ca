/**
 * Lease-time rebase: a queued screen whose base fell behind the head (another winner merged
 * while it waited) is rebased 3-way onto the head just before it runs, so it is measured on
 * the frontier as it is now. Without this, every proposal queued before a merge runs on the
 * old base and, if it wins, must be rebased and run again on the new head: with many
 * workers that is most of the queue, run twice. Confirmations and re-verifications keep
 * their base (their samples must be comparable with the screen's). A rebase that conflicts
 * ends the proposal as `conflict` (with the hunk) before it costs a run, as the merge train
 * would after it; one the head already holds, or one already proposed on the head, ends
 * as `stale` with the reason. Such a job is dropped and its experiment `cancelled`.
 *
 * A confirmation keeps its base, but it is not run for a proposal that can no longer merge:
 * when the head moved and the patch conflicts with it, or the head already holds it, the
 * merge train would end the proposal so after the run (`merge/merge-train.ts`); with many workers,
 * two winners changing the same constant are common, and that run was wasted.
 */
import { type Experiment, patchHash } from '@ratchet/shared';
import { ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { moveProposal } from '../proposals/proposal-status.ts';

/** The experiment to run (moved to the head, or as it was), or null when it must not run. */
export async function freshenBase(deps: Deps, exp: Experiment, cls: string): Promise<Experiment | null> {
  if (!deps.config.rebaseOnLease) return exp;
  if (exp.kind === 'candidate' && exp.stage === 'confirm' && exp.proposalId && !exp.batchId)
    return stillMergeable(deps, exp);
  if (exp.kind !== 'candidate' || exp.stage !== 'screen' || !exp.proposalId) return exp;
  const p = await deps.store.getProposal(exp.proposalId);
  if (!p || p.base !== exp.base || (p.status !== 'queued' && p.status !== 'reverify')) return exp;
  const head = await deps.frontier.head(exp.track);
  if (!head || head === exp.base) return exp;
  const at = head.slice(0, 7);
  const end = async (status: 'conflict' | 'stale', reason: string, conflict: string | null = null) => {
    await deps.store.putExperiment({ ...exp, status: 'cancelled', verdict: status, verdictReason: reason });
    await moveProposal(deps, p.id, status, reason, conflict !== null ? { conflict } : {});
    return null;
  };
  let rebased: string;
  try {
    const r = await deps.frontier.rebase(p.base, p.patch, head);
    if (r.status === 'conflict')
      return end('conflict', `the head moved to ${at} and the patch conflicts with it; not run`, r.hunk);
    if (r.patch.trim() === '') return end('stale', `the head ${at} already holds this change; not run`);
    rebased = r.patch;
  } catch {
    // The merge train will meet the same trouble and report it; run on the old base.
    return exp;
  }
  const hash = patchHash(rebased);
  const other = await deps.store.claimPatch(p.track, head, hash, p.id);
  if (other && other !== p.id)
    return end('stale', `the same change is already proposed on ${at} as ${other}; not run`);
  const rebasedP = await moveProposal(deps, p.id, p.status, undefined, {
    originalBase: p.originalBase ?? p.base,
    base: head,
    patch: rebased,
    patchHash: hash,
    rebases: p.rebases + 1,
  });
  if (!rebasedP) return null;
  const moved: Experiment = { ...exp, base: head };
  await deps.store.putExperiment(moved);
  await ensureBaselineJobs(deps, exp.track, head, cls);
  return moved;
}

/** A confirmation, or null when its proposal conflicts with the head or the head holds it. */
async function stillMergeable(deps: Deps, exp: Experiment): Promise<Experiment | null> {
  const p = await deps.store.getProposal(exp.proposalId!);
  if (!p || p.base !== exp.base || p.status !== 'confirming') return exp;
  const head = await deps.frontier.head(exp.track);
  if (!head || head === p.base) return exp;
  const at = head.slice(0, 7);
  let r: Awaited<ReturnType<Deps['frontier']['rebase']>>;
  try {
    r = await deps.frontier.rebase(p.base, p.patch, head);
  } catch {
    return exp; // the merge train will meet the same trouble and report it
  }
  if (r.status === 'clean' && r.patch.trim() !== '') return exp;
  const reason =
    r.status === 'conflict'
      ? `the head moved to ${at} and the patch conflicts with it; confirmation not run`
      : `the head ${at} already holds this change; confirmation not run`;
  const status = r.status === 'conflict' ? 'conflict' : 'stale';
  await deps.store.putExperiment({ ...exp, status: 'cancelled', verdict: status, verdictReason: reason });
  await moveProposal(deps, p.id, status, reason, r.status === 'conflict' ? { conflict: r.hunk } : {});
  return null;
}
