/** What happens when a worker reports: record, compare within the class, merge winners. */
import type { Experiment, JobOutcome, Proposal, Verdict } from '@ratchet/shared';
import { decideAcceptance } from '../pipeline/acceptance.ts';
import type { MergeTrain } from '../pipeline/merge-train.ts';
import { ensureBaselineJob } from './baselines.ts';
import type { Deps } from './deps.ts';

async function setProposal(deps: Deps, id: string | null, patch: Partial<Proposal>) {
  if (!id) return;
  const p = await deps.store.getProposal(id);
  if (p) await deps.store.putProposal({ ...p, ...patch });
}

async function setVerdict(
  deps: Deps,
  e: Experiment,
  verdict: Verdict,
  reason: string,
  extra: Partial<Experiment> = {},
) {
  const next = { ...e, ...extra, verdict, verdictReason: reason };
  await deps.store.putExperiment(next);
  return next;
}

export async function recordOutcome(deps: Deps, merge: MergeTrain, exp: Experiment, outcome: JobOutcome) {
  const now = deps.clock.now();
  const recorded: Experiment = {
    ...exp,
    status: outcome.status,
    metrics: outcome.status === 'ok' ? outcome.metrics : null,
    extra: outcome.status === 'ok' ? outcome.extra : {},
    crash: outcome.status === 'crash' ? { reason: outcome.reason, message: outcome.message } : null,
    logTail: outcome.logTail,
    timings: outcome.timings,
    finishedAt: outcome.timings.reportedAt,
    recordedAt: now,
  };
  await deps.store.putExperiment(recorded);
  if (recorded.kind === 'baseline') await onBaseline(deps, merge, recorded);
  else await onCandidate(deps, merge, recorded);
  deps.events.experimentFinished?.({ experimentId: exp.id });
}

async function onBaseline(deps: Deps, merge: MergeTrain, e: Experiment) {
  const cls = e.hardwareClass!;
  if (e.status === 'ok' && e.metrics) {
    await deps.store.putBaselineIfAbsent({
      track: e.track,
      commit: e.base,
      hardwareClass: cls,
      valBpb: e.metrics.val_bpb,
      experimentId: e.id,
      peakVramMb: e.metrics.peak_vram_mb,
    });
    await setVerdict(deps, e, 'baseline', `baseline of ${e.base.slice(0, 7)} on ${cls}`);
  } else {
    await setVerdict(deps, e, 'crash', `baseline ${e.status}: ${e.crash?.message ?? ''}`);
  }
  for (const id of await deps.store.takeAwaiting(e.track, e.base, cls)) {
    const c = await deps.store.getExperiment(id);
    if (c) await onCandidate(deps, merge, c);
  }
}

async function onCandidate(deps: Deps, merge: MergeTrain, e: Experiment) {
  if (e.status === 'crash' || e.status === 'patch_failed') {
    const reason =
      e.status === 'patch_failed' ? 'patch failed to apply on the worker' : `crashed (${e.crash?.reason})`;
    await setVerdict(deps, e, 'crash', reason);
    await setProposal(deps, e.proposalId, {
      status: e.status === 'crash' ? 'crashed' : 'patch_failed',
      verdictReason: reason,
    });
    return;
  }
  if (!e.metrics || !e.hardwareClass) return;
  const cls = e.hardwareClass;
  const baseline = await deps.store.getBaseline(e.track, e.base, cls);
  if (!baseline) {
    const baselineExp = await deps.store.redis.get(deps.store.key('baselinejob', e.track, e.base, cls));
    const baseExp = baselineExp ? await deps.store.getExperiment(baselineExp) : null;
    if (baseExp && baseExp.status !== 'queued' && baseExp.status !== 'running') {
      const reason = `no baseline: the baseline of ${e.base.slice(0, 7)} on ${cls} ${baseExp.status}`;
      await setVerdict(deps, e, 'discard', reason);
      await setProposal(deps, e.proposalId, { status: 'discarded', verdictReason: reason });
      return;
    }
    await deps.store.addAwaiting(e.track, e.base, cls, e.id);
    await ensureBaselineJob(deps, e.track, e.base, cls);
    await setVerdict(deps, e, 'pending', `waiting for the baseline of ${e.base.slice(0, 7)} on ${cls}`);
    await setProposal(deps, e.proposalId, { status: 'awaiting_baseline' });
    return;
  }
  const d = decideAcceptance({
    candidateBpb: e.metrics.val_bpb,
    baselineBpb: baseline.valBpb,
    minMargin: deps.config.minMargin,
  });
  const scored = { baselineBpb: baseline.valBpb, delta: d.delta };
  if (d.verdict === 'discard') {
    await setVerdict(deps, e, 'discard', d.reason, scored);
    await setProposal(deps, e.proposalId, { status: 'discarded', verdictReason: d.reason });
    return;
  }
  const kept = await setVerdict(deps, e, 'pending', `${d.reason}; merging`, scored);
  const p = e.proposalId ? await deps.store.getProposal(e.proposalId) : null;
  if (!p) return;
  const m = await merge.merge(p, kept);
  if (m.status === 'merged') {
    await setVerdict(deps, kept, 'keep', d.reason);
    await setProposal(deps, p.id, { status: 'merged', mergedCommit: m.commit, verdictReason: d.reason });
  } else {
    const reason = `${d.reason}, but the head moved to ${m.head.slice(0, 7)}`;
    await setVerdict(deps, kept, 'stale', reason);
    await setProposal(deps, p.id, { status: 'stale', verdictReason: reason });
  }
}
