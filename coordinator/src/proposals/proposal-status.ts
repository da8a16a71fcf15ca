/**
 * The one place that writes a proposal's status. A proposal in a final status never moves
 * again: a late answer (a run, a merge, a batch) for a proposal that has ended meanwhile
 * changes nothing.
 */
import { FINAL_PROPOSAL_STATUSES, type Proposal, type ProposalStatus } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import type { ProposalFields } from '../pipeline/lifecycle.ts';

/** The proposal after the move, or null when it is unknown or already final. */
export async function moveProposal(
  deps: Pick<Deps, 'store'>,
  id: string,
  status: ProposalStatus,
  reason?: string,
  fields: ProposalFields = {},
): Promise<Proposal | null> {
  const p = await deps.store.getProposal(id);
  if (!p || FINAL_PROPOSAL_STATUSES.includes(p.status)) return null;
  const next: Proposal = {
    ...p,
    ...fields,
    status,
    ...(reason !== undefined ? { verdictReason: reason } : {}),
  };
  await deps.store.putProposal(next);
  return next;
}

/** Record that an experiment belongs to a proposal (its status unchanged). */
export async function addExperimentId(deps: Pick<Deps, 'store'>, proposalId: string, expId: string) {
  const p = await deps.store.getProposal(proposalId);
  if (p && !p.experimentIds.includes(expId))
    await deps.store.putProposal({ ...p, experimentIds: [...p.experimentIds, expId] });
}
