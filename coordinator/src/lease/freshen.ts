/**
 * Lease-time rebase: a queued screen whose base fell behind the head (another winner merged
 * while it waited) is rebased 3-way onto the head just before it runs, so it is measured on
 * the frontier as it is now. Without this, every proposal queued before a merge runs on the
 * old base and, if it wins, must be rebased and run again on the new head: with many
 * workers that is most of the queue, run twice. A rebase that conflicts ends the proposal as
 * `conflict` (with the hunk) before it costs a run, as the merge train would after it; one
 * the head already holds, or one already proposed on the head, ends as `stale` with the
 * reason. Such a job is dropped and its experiment `cancelled`.
 *
 * A confirmation moves the same way (`confirmOnHead`): its screen's evidence carries over to
 * the new base, and the run on the head stands in for the re-verification a winner confirmed
 * on the old head would need. Re-verifications and arbitrations keep their base.
 */
import { type Experiment, type Proposal, patchHash } from '@ratchet/shared';
import { ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { moveProposal } from '../proposals/proposal-status.ts';

/** The experiment to run (moved to the head, or as it was), or null when it must not run. */
export async function freshenBase(deps: Deps, exp: Experiment, cls: string): Promise<Experiment | null> {
  if (!deps.config.rebaseOnLease) return exp;
  if (exp.kind === 'candidate' && exp.stage === 'confirm' && exp.proposalId && !exp.batchId)
    return confirmOnHead(deps, exp, cls);
  if (exp.kind !== 'candidate' || exp.stage !== 'screen' || !exp.proposalId) return exp;
  const p = await deps.store.getProposal(exp.proposalId);
  if (!p || p.base !== exp.base || (p.status !== 'queued' && p.status !== 'reverify')) return exp;
  const head = await deps.frontier.head(exp.track);
  if (!head || head === exp.base) return exp;
  return moveToHead(deps, exp, p, head, cls, '');
}

/**
 * Rebase `p` (and `exp`, its run about to be leased) onto `head`: null when it conflicts, the
 * head holds it, or the same change is already proposed there (the proposal ends so, and the
 * run is not run); the run on the head otherwise, or as it was with `keepBase`. `what` names
 * a run that is not a screen.
 */
async function moveToHead(
  deps: Deps,
  exp: Experiment,
  p: Proposal,
  head: string,
  cls: string,
  what: string,
  keepBase = false,
): Promise<Experiment | null> {
  const at = head.slice(0, 7);
  const notRun = what ? `${what} not run` : 'not run';
  const end = async (status: 'conflict' | 'stale', reason: string, conflict: string | null = null) => {
    await deps.store.putExperiment({ ...exp, status: 'cancelled', verdict: status, verdictReason: reason });
    await moveProposal(deps, p.id, status, reason, conflict !== null ? { conflict } : {});
    return null;
  };
  let rebased: string;
  try {
    const r = await deps.frontier.rebase(p.base, p.patch, head);
    if (r.status === 'conflict')
      return end('conflict', `the head moved to ${at} and the patch conflicts with it; ${notRun}`, r.hunk);
    if (r.patch.trim() === '') return end('stale', `the head ${at} already holds this change; ${notRun}`);
    if (keepBase) return exp;
    rebased = r.patch;
  } catch {
    // The merge train will meet the same trouble and report it; run on the old base.
    return exp;
  }
  const hash = patchHash(rebased);
  const other = await deps.store.claimPatch(p.track, head, hash, p.id);
  if (other && other !== p.id)
    return end('stale', `the same change is already proposed on ${at} as ${other}; ${notRun}`);
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

/**
 * A confirmation whose head moved since its screen runs on the head: its screen's evidence
 * carries over, shifted by the two heads' baseline means (`results/lifecycle-driver.ts`), and
 * the confirmation on the head must bear the gain out on its own, as a re-verification would.
 * One run instead of a confirmation on the old head and a re-verification on the new one.
 * A proposal that already holds an accept (waiting for a second principal) keeps its base:
 * on a new base that accept would read as a re-verification's.
 */
async function confirmOnHead(deps: Deps, exp: Experiment, cls: string): Promise<Experiment | null> {
  const p = await deps.store.getProposal(exp.proposalId!);
  if (!p || p.base !== exp.base || p.status !== 'confirming') return exp;
  const head = await deps.frontier.head(exp.track);
  if (!head || head === p.base) return exp;
  // An accept waiting for a second principal keeps its base; it is still not run when it
  // conflicts with the head or the head holds it: the merge train would end it so after the run.
  return moveToHead(deps, exp, p, head, cls, 'confirmation', p.decision?.verdict === 'accept');
}
