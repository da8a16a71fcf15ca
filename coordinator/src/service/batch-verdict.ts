/**
 * A batch re-verification's result (see batches.ts): all members merge in one commit, the
 * batch earns another run near the threshold, a lone member takes the usual path, or the
 * batch dissolves and each member is re-verified alone.
 */
import { type Experiment, FINAL_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import type { MergeTrain } from '../pipeline/merge-train.ts';
import { decide, implausible, mean, pooledNoise } from '../pipeline/stats.ts';
import { classQueueName, Priority } from '../queue/queues.ts';
import { ensureBaselineJobs } from './baselines.ts';
import { addExperimentId, batchExperiment, joinBatch, membersKey, RELEASE, runKey } from './batches.ts';
import type { Deps } from './deps.ts';
import { newExperiment } from './proposals.ts';

/** Each member re-verified alone (on its own rebased patch; rebased again when leased). */
async function dissolve(deps: Deps, e: Experiment, cls: string, why: string) {
  for (const id of e.members) {
    const p = await deps.store.getProposal(id);
    if (!p || FINAL_PROPOSAL_STATUSES.includes(p.status)) continue;
    const exp = newExperiment(deps, {
      track: p.track,
      kind: 'candidate',
      proposalId: p.id,
      base: p.base,
      hardwareClass: cls,
      stage: 'screen',
    });
    await deps.store.putExperiment(exp);
    await deps.store.putProposal({
      ...p,
      status: 'reverify',
      verdictReason: `${why}; re-verifying alone`,
      experimentIds: [...p.experimentIds, exp.id],
    });
    await deps.queues.add(classQueueName(p.track, cls), { experimentId: exp.id }, Priority.reverify);
  }
}

/**
 * Its result is in. The batch keeps the run slot until it is judged (and merged), so that no
 * other batch is composed on a head about to move.
 */
export async function onBatch(
  deps: Deps,
  merge: MergeTrain,
  e: Experiment,
  evaluateOne: (proposalId: string, cls: string, ownBatch: string) => Promise<void>,
): Promise<void> {
  try {
    await judgeBatch(deps, merge, e, evaluateOne);
  } finally {
    await deps.store.redis.eval(RELEASE, 1, runKey(deps, e.track, e.hardwareClass!), e.id);
  }
}

/** Its result is in: merge every member, hand a lone member to the usual path, or dissolve. */
async function judgeBatch(
  deps: Deps,
  merge: MergeTrain,
  e: Experiment,
  evaluateOne: (proposalId: string, cls: string, ownBatch: string) => Promise<void>,
): Promise<void> {
  const cls = e.hardwareClass!;
  const redis = deps.store.redis;
  await redis.del(membersKey(deps, e.id));
  const setVerdict = (verdict: Experiment['verdict'], reason: string, extra: Partial<Experiment> = {}) =>
    deps.store.putExperiment({ ...e, ...extra, verdict, verdictReason: reason });

  if (e.members.length === 1) {
    // A lone member: exactly a re-verification of its rebased patch on this head.
    const p = await deps.store.getProposal(e.members[0]!);
    if (p)
      await deps.store.putProposal({ ...p, base: e.base, patch: e.patch ?? p.patch, status: 'reverify' });
    if (e.status === 'crash' || e.status === 'patch_failed') {
      await setVerdict('crash', `re-verification ${e.status}`);
      await dissolve(deps, e, cls, `re-verification ${e.status}`);
      return;
    }
    await evaluateOne(e.members[0]!, cls, e.id);
    return;
  }
  if (e.status !== 'ok' || !e.metrics) {
    await setVerdict('crash', `batch re-verification ${e.status}: ${e.crash?.message ?? ''}`);
    await dissolve(deps, e, cls, `batch re-verification ${e.status}`);
    return;
  }
  const v = e.metrics.val_bpb;
  // Every run of this same union on this same head counts (a batch earns replicates too).
  const same = (x: Experiment) =>
    x.batch && x.base === e.base && x.patch === e.patch && x.hardwareClass === cls && x.status === 'ok';
  const samples = (await deps.store.listExperiments(e.track))
    .filter((x) => same(x) && x.id !== e.id && x.metrics && x.verdict !== 'quarantined')
    .map((x) => x.metrics!.val_bpb)
    .concat([v]);
  const baselines = await deps.store.getBaselineSamples(e.track, e.base, cls);
  const noise = pooledNoise(await deps.store.baselineGroups(e.track, cls));
  if (baselines.length > 0) {
    const why = implausible(
      v,
      mean(baselines.map((b) => b.valBpb)),
      noise,
      await deps.store.bestGain(e.track, cls),
      deps.config.acceptance,
    );
    if (why) {
      await setVerdict('quarantined', why);
      if (e.workerId) await deps.store.resetTrust(e.workerId, cls);
      await dissolve(deps, e, cls, `batch run quarantined (${why})`);
      return;
    }
  }
  const d = decide(
    { candidate: samples, baseline: baselines.map((b) => b.valBpb), noise, confirmedBefore: true },
    deps.config.acceptance,
  );
  const scored = { baselineBpb: d.baselineMean, delta: d.delta };
  if (d.verdict === 'replicate') {
    // Near the threshold: one more run of the same union; new batches wait behind it.
    const again: Experiment = {
      ...batchExperiment(deps, {
        track: e.track,
        proposalId: e.proposalId,
        base: e.base,
        stage: 'confirm',
        cls,
        seed: deps.config.seed + samples.length,
      }),
      members: e.members,
      patch: e.patch,
    };
    await deps.store.putExperiment(again);
    await redis.set(runKey(deps, e.track, cls), again.id);
    for (const id of e.members) await addExperimentId(deps, id, again.id);
    await setVerdict('promising', `the members together: ${d.reason}`, scored);
    await deps.queues.add(classQueueName(e.track, cls), { experimentId: again.id }, Priority.confirm);
    return;
  }
  if (d.verdict !== 'accept') {
    const reason = d.verdict === 'wait' ? 'no baseline on the head yet' : `the members together: ${d.reason}`;
    if (d.verdict === 'wait') await ensureBaselineJobs(deps, e.track, e.base, cls);
    await setVerdict('discard', reason, scored);
    await dissolve(deps, e, cls, reason);
    return;
  }
  const members = (await Promise.all(e.members.map((id) => deps.store.getProposal(id)))).filter(
    (p): p is Proposal => p !== null && !FINAL_PROPOSAL_STATUSES.includes(p.status),
  );
  const decision = {
    ...d,
    hardwareClass: cls,
    candidateSamples: samples,
    baselineSamples: baselines.map((b) => b.valBpb),
  };
  const m = await merge.mergeBatch({
    track: e.track,
    base: e.base,
    patch: e.patch ?? '',
    members,
    decision,
    run: {
      experimentId: e.id,
      valBpb: v,
      steps: e.metrics.num_steps,
      tokensM: e.metrics.total_tokens_M,
      peakVramMb: e.metrics.peak_vram_mb,
    },
  });
  if (m.status === 'moved') {
    // A winner merged directly meanwhile: the batch goes round again on the new head.
    await setVerdict('stale', `the head moved to ${m.head.slice(0, 7)} before the batch merged`, scored);
    for (const p of members) await joinBatch(deps, p, cls);
    return;
  }
  await setVerdict('keep', `${d.reason}; ${members.length} winners merged together`, scored);
  for (const p of members) {
    await deps.store.putProposal({
      ...p,
      status: 'merged',
      mergedCommit: m.commit,
      verdictReason: `re-verified with ${members.length - 1} other winner(s) on ${e.base.slice(0, 7)}: ${d.reason}`,
    });
  }
}
