/** Submitting proposals: policy, `git apply --check` on the base, dedupe, then the queue. */

import {
  checkPatch,
  ErrorCodes,
  type Experiment,
  type Proposal,
  patchHash,
  RatchetError,
  type SubmitProposalInput,
} from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { candidateSeed } from '../pipeline/seeds.ts';
import { generalQueueName, Priority } from '../queue/queues.ts';
import { newId } from './ids.ts';

export interface SubmitResult {
  proposal: Proposal;
  /** False when an identical patch on the same base and track already existed. */
  created: boolean;
}

export function newExperiment(
  deps: Deps,
  fields: Pick<Experiment, 'track' | 'kind' | 'proposalId' | 'base' | 'hardwareClass'> &
    Partial<Pick<Experiment, 'stage' | 'excludeWorkerId' | 'excludePrincipals' | 'seed'>>,
): Experiment {
  return {
    id: newId('e'),
    stage: fields.kind === 'baseline' ? 'baseline' : 'screen',
    excludeWorkerId: null,
    batchId: null,
    batch: false,
    members: [],
    patch: null,
    ...fields,
    status: 'queued',
    verdict: null,
    verdictReason: null,
    workerId: null,
    seed:
      fields.seed ??
      (fields.kind === 'candidate' && fields.proposalId
        ? candidateSeed(deps.config.seed, fields.proposalId, 0)
        : deps.config.seed),
    metrics: null,
    extra: {},
    crash: null,
    baselineBpb: null,
    delta: null,
    logTail: '',
    timings: null,
    progress: null,
    createdAt: deps.clock.now(),
    leasedAt: null,
    finishedAt: null,
    recordedAt: null,
    attempts: 0,
  };
}

export async function submitProposal(deps: Deps, input: SubmitProposalInput): Promise<SubmitResult> {
  const track = await deps.store.requireTrack(input.track);
  const base = input.base ?? track.head;
  const check = checkPatch(input.patch, {
    editable: track.config.editable,
    maxBytes: deps.config.patchMaxBytes,
  });
  if (!check.ok) throw new RatchetError(check.code, check.message);
  if (!(await deps.frontier.hasCommit(base))) {
    throw new RatchetError(ErrorCodes.COMMIT_UNKNOWN, `base ${base} is not a commit of the frontier`);
  }
  // The same patch (normalised) on the same base and track never runs twice: the earlier
  // proposal, with its verdict, is the answer.
  const hash = patchHash(input.patch);
  const known = await deps.store.findPatch(track.config.id, base, hash);
  const earlier = known ? await deps.store.getProposal(known) : null;
  if (earlier) return { proposal: earlier, created: false };
  const applies = await deps.frontier.checkApply(base, input.patch);
  if (!applies.ok) throw new RatchetError(ErrorCodes.PATCH_DOES_NOT_APPLY, applies.message);
  const id = newId('p');
  const existing = await deps.store.claimPatch(track.config.id, base, hash, id);
  if (existing) {
    const other = await deps.store.getProposal(existing);
    if (other) return { proposal: other, created: false };
  }
  const exp = newExperiment(deps, {
    track: track.config.id,
    kind: 'candidate',
    proposalId: id,
    base,
    hardwareClass: null,
  });
  const proposal: Proposal = {
    id,
    track: track.config.id,
    base,
    patch: input.patch,
    patchHash: hash,
    description: input.description,
    proposer: input.proposer,
    strategy: input.strategy,
    status: 'queued',
    createdAt: deps.clock.now(),
    experimentIds: [exp.id],
    mergedCommit: null,
    verdictReason: null,
    decision: null,
    conflict: null,
    originalBase: null,
    rebases: 0,
    throttleRequeues: 0,
  };
  await deps.store.putProposal(proposal);
  await deps.store.putExperiment(exp);
  await deps.queues.add(generalQueueName(track.config.id), { experimentId: exp.id }, Priority.candidate);
  return { proposal, created: true };
}

export async function getProposal(deps: Deps, id: string): Promise<Proposal> {
  const p = await deps.store.getProposal(id);
  if (!p) throw new RatchetError(ErrorCodes.PROPOSAL_UNKNOWN, `unknown proposal ${id}`);
  return p;
}
