/**
 * Lease-time rebase: a queued screen whose base fell behind the head (another winner merged
 * while it waited) is rebased 3-way onto the head just before it runs, so it is measured on
 * the frontier as it is now. Without this, every proposal queued before a merge runs on the
 * old base and, if it wins, must be rebased and run again on the new head: with many
 * workers that is most of the queue, run twice. Confirmations and re-verifications keep
 * their base (their samples must be comparable with the screen's). A rebase that conflicts,
 * that the head already holds, or whose rebased patch is already queued on the head leaves
 * the run on its own base, where the merge train deals with it as before.
 */
import { type Experiment, patchHash } from '@ratchet/shared';
import { ensureBaselineJobs } from './baselines.ts';
import type { Deps } from './deps.ts';

export async function freshenBase(deps: Deps, exp: Experiment, cls: string): Promise<Experiment> {
  if (!deps.config.rebaseOnLease || exp.kind !== 'candidate' || exp.stage !== 'screen' || !exp.proposalId)
    return exp;
  const p = await deps.store.getProposal(exp.proposalId);
  if (!p || p.base !== exp.base || (p.status !== 'queued' && p.status !== 'reverify')) return exp;
  const head = await deps.frontier.head(exp.track);
  if (!head || head === exp.base) return exp;
  let rebased: string;
  try {
    const r = await deps.frontier.rebase(p.base, p.patch, head);
    if (r.status !== 'clean' || r.patch.trim() === '') return exp;
    rebased = r.patch;
  } catch {
    // The merge train will meet the same trouble and report it; run on the old base.
    return exp;
  }
  const hash = patchHash(rebased);
  if (await deps.store.claimPatch(p.track, head, hash, p.id)) return exp;
  await deps.store.putProposal({
    ...p,
    originalBase: p.originalBase ?? p.base,
    base: head,
    patch: rebased,
    patchHash: hash,
    rebases: p.rebases + 1,
  });
  const moved: Experiment = { ...exp, base: head };
  await deps.store.putExperiment(moved);
  await ensureBaselineJobs(deps, exp.track, head, cls);
  return moved;
}
