/**
 * What happens when a worker reports: record the run, then move its proposal through the
 * pipeline — screen → confirm (replicates, on another worker when the screener is not
 * trusted) → decide on all samples → merge train (commit, or rebase + re-verify, or
 * conflict). Baselines feed the per-class noise estimate. Throttled runs are queued again;
 * implausible numbers are quarantined; contradicted screens cost their worker its trust.
 */
import {
  type DecisionRecord,
  type Experiment,
  FINAL_PROPOSAL_STATUSES,
  type JobOutcome,
  type Proposal,
  type Verdict,
} from '@ratchet/shared';
import type { MergeTrain } from '../pipeline/merge-train.ts';
import { candidateSeed } from '../pipeline/seeds.ts';
import {
  contradicts,
  decide,
  implausible,
  isThrottled,
  mean,
  pooledNoise,
  throughputOf,
} from '../pipeline/stats.ts';
import { classQueueName, generalQueueName, Priority } from '../queue/queues.ts';
import { baselineExhausted, ensureBaselineJobs } from './baselines.ts';
import { onBatch } from './batch-verdict.ts';
import { batchRunning, joinBatch } from './batches.ts';
import type { Deps } from './deps.ts';
import { newExperiment } from './proposals.ts';

const MAX_THROTTLE_REQUEUES = 3;

async function updateProposal(deps: Deps, id: string, patch: Partial<Proposal>): Promise<Proposal | null> {
  const p = await deps.store.getProposal(id);
  if (!p) return null;
  const next = { ...p, ...patch };
  await deps.store.putProposal(next);
  return next;
}

async function setVerdict(
  deps: Deps,
  id: string,
  verdict: Verdict,
  reason: string,
  extra: Partial<Experiment> = {},
) {
  const e = await deps.store.getExperiment(id);
  if (e) await deps.store.putExperiment({ ...e, ...extra, verdict, verdictReason: reason });
}

export async function recordOutcome(deps: Deps, merge: MergeTrain, exp: Experiment, outcome: JobOutcome) {
  const recorded: Experiment = {
    ...exp,
    status: outcome.status,
    metrics: outcome.status === 'ok' ? outcome.metrics : null,
    extra: outcome.status === 'ok' ? outcome.extra : {},
    crash: outcome.status === 'crash' ? { reason: outcome.reason, message: outcome.message } : null,
    logTail: outcome.logTail,
    timings: outcome.timings,
    finishedAt: outcome.timings.reportedAt,
    recordedAt: deps.clock.now(),
  };
  if (recorded.kind === 'baseline' && recorded.metrics && recorded.hardwareClass) {
    // The sample goes in before the run stops counting as pending, so that a concurrent
    // ensureBaselineJobs never sees neither and schedules one replicate too many.
    await deps.store.addBaselineSample(recorded.track, recorded.base, recorded.hardwareClass, {
      valBpb: recorded.metrics.val_bpb,
      steps: recorded.metrics.num_steps,
      tokensM: recorded.metrics.total_tokens_M,
      paramsM: recorded.metrics.num_params_M,
      experimentId: recorded.id,
      peakVramMb: recorded.metrics.peak_vram_mb,
    });
  }
  await deps.store.putExperiment(recorded);
  if (recorded.kind === 'baseline') await onBaseline(deps, merge, recorded);
  else if (recorded.batch)
    await onBatch(deps, merge, recorded, (id, cls, own) => evaluate(deps, merge, id, cls, own));
  else await onCandidate(deps, merge, recorded);
  deps.events.experimentFinished?.({ experimentId: exp.id });
}

async function onBaseline(deps: Deps, merge: MergeTrain, e: Experiment) {
  const cls = e.hardwareClass!;
  if (e.status === 'ok' && e.metrics) {
    await setVerdict(deps, e.id, 'baseline', `baseline of ${e.base.slice(0, 7)} on ${cls}`);
  } else {
    await setVerdict(deps, e.id, 'crash', `baseline ${e.status}: ${e.crash?.message ?? ''}`);
  }
  await ensureBaselineJobs(deps, e.track, e.base, cls);
  for (const pid of await deps.store.takeAwaiting(e.track, e.base, cls))
    await evaluate(deps, merge, pid, cls);
}

async function onCandidate(deps: Deps, merge: MergeTrain, e: Experiment) {
  const p = e.proposalId ? await deps.store.getProposal(e.proposalId) : null;
  if (!p) return;
  if (e.status === 'crash' || e.status === 'patch_failed') {
    const reason =
      e.status === 'patch_failed'
        ? 'patch failed to apply on the worker'
        : `crashed (${e.crash?.reason}): ${e.crash?.message ?? ''}`;
    await setVerdict(deps, e.id, 'crash', reason);
    await updateProposal(deps, p.id, {
      status: e.status === 'crash' ? 'crashed' : 'patch_failed',
      verdictReason: reason,
    });
    return;
  }
  const cls = e.hardwareClass!;
  const baselines = await deps.store.getBaselineSamples(e.track, e.base, cls);
  const run = throughputOf(e);
  if (isThrottled(run, baselines, deps.config.acceptance)) {
    const of = (xs: (number | null)[]) => mean(xs.filter((x): x is number => x !== null));
    const reason = `throttled: ${run.steps} steps, ${run.tokensM ?? 'n/a'} M tokens vs ${of(baselines.map((b) => b.steps)).toFixed(0)} steps, ${of(baselines.map((b) => b.tokensM)).toFixed(3)} M tokens on the baseline`;
    await setVerdict(deps, e.id, 'throttled', reason);
    if (p.throttleRequeues < MAX_THROTTLE_REQUEUES) {
      await updateProposal(deps, p.id, { throttleRequeues: p.throttleRequeues + 1 });
      await queueRun(
        deps,
        p,
        e.stage === 'confirm' ? 'confirm' : 'screen',
        cls,
        e.seed,
        e.excludeWorkerId,
        true,
      );
    } else {
      await updateProposal(deps, p.id, {
        status: 'discarded',
        verdictReason: `${reason}; too many throttled runs`,
      });
    }
    return;
  }
  await evaluate(deps, merge, p.id, cls);
}

/** Queue one candidate run of a proposal. Screens go to any class unless pinned. */
async function queueRun(
  deps: Deps,
  p: Proposal,
  stage: 'screen' | 'confirm',
  cls: string | null,
  seed: number,
  excludeWorkerId: string | null,
  pinned: boolean,
) {
  const exp = newExperiment(deps, {
    track: p.track,
    kind: 'candidate',
    proposalId: p.id,
    base: p.base,
    hardwareClass: pinned ? cls : null,
    stage,
    seed,
    excludeWorkerId,
  });
  await deps.store.putExperiment(exp);
  await updateProposal(deps, p.id, { experimentIds: [...p.experimentIds, exp.id] });
  const queue = pinned && cls ? classQueueName(p.track, cls) : generalQueueName(p.track);
  // Re-verifications (pinned screens) and confirmations jump ahead of fresh screens.
  const priority = stage === 'confirm' ? Priority.confirm : pinned ? Priority.reverify : Priority.candidate;
  await deps.queues.add(queue, { experimentId: exp.id }, priority);
}

/** Candidate runs of a proposal that count: finished, ok, on its current base and this class. */
async function countedRuns(deps: Deps, p: Proposal, cls: string): Promise<Experiment[]> {
  const out: Experiment[] = [];
  for (const id of p.experimentIds) {
    const e = await deps.store.getExperiment(id);
    if (e?.status !== 'ok' || !e.metrics || e.base !== p.base || e.hardwareClass !== cls) continue;
    if (e.verdict === 'throttled' || e.verdict === 'quarantined' || e.verdict === 'invalid') continue;
    out.push(e);
  }
  return out.sort((a, b) =>
    a.stage === b.stage ? (a.recordedAt ?? 0) - (b.recordedAt ?? 0) : a.stage === 'screen' ? -1 : 1,
  );
}

async function isTrusted(deps: Deps, workerId: string | null, cls: string): Promise<boolean> {
  if (!workerId) return false;
  const w = await deps.store.getWorker(workerId);
  if (w?.trusted) return true;
  return (await deps.store.trust(workerId, cls)) >= deps.config.acceptance.trustThreshold;
}

export async function evaluate(
  deps: Deps,
  merge: MergeTrain,
  proposalId: string,
  cls: string,
  /** The batch this re-verification ran in, which still holds the class's run slot. */
  ownBatch: string | null = null,
): Promise<void> {
  const p = await deps.store.getProposal(proposalId);
  if (!p || FINAL_PROPOSAL_STATUSES.includes(p.status)) return;
  const cfg = deps.config.acceptance;
  const runs = await countedRuns(deps, p, cls);
  const baselines = await deps.store.getBaselineSamples(p.track, p.base, cls);
  const noise = pooledNoise(await deps.store.baselineGroups(p.track, cls));
  const latest = runs[runs.length - 1];
  if (!latest) return;

  // Implausible numbers never merge, and cost their worker its trust.
  if (baselines.length > 0) {
    const why = implausible(
      latest.metrics!.val_bpb,
      mean(baselines.map((b) => b.valBpb)),
      noise,
      await deps.store.bestGain(p.track, cls),
      cfg,
    );
    if (why) {
      await setVerdict(deps, latest.id, 'quarantined', why);
      if (latest.workerId) await deps.store.resetTrust(latest.workerId, cls);
      await updateProposal(deps, p.id, { status: 'quarantined', verdictReason: `quarantined: ${why}` });
      return;
    }
  }

  // A confirmation that contradicts its screen: the screen is invalid and its worker loses trust.
  const screen = runs.find((r) => r.stage === 'screen');
  const confirms = runs.filter((r) => r.stage === 'confirm');
  if (screen && confirms.length > 0) {
    const conf = confirms.map((c) => c.metrics!.val_bpb);
    if (contradicts(screen.metrics!.val_bpb, conf, noise, cfg)) {
      const reason = `screen ${screen.metrics!.val_bpb.toFixed(6)} contradicted by confirmation ${mean(conf).toFixed(6)}`;
      await setVerdict(deps, screen.id, 'invalid', reason);
      if (screen.workerId) await deps.store.resetTrust(screen.workerId, cls);
      await updateProposal(deps, p.id, { status: 'discarded', verdictReason: reason });
      return;
    }
    if (latest.stage === 'confirm') {
      for (const r of [screen, latest]) if (r.workerId) await deps.store.bumpTrust(r.workerId, cls);
    }
  }

  const samples = runs.map((r) => r.metrics!.val_bpb);
  // A re-verification after a rebase: the earlier decision (on the old base) was an accept.
  const confirmedBefore = p.originalBase !== null && p.decision?.verdict === 'accept';
  const d = decide(
    { candidate: samples, baseline: baselines.map((b) => b.valBpb), noise, confirmedBefore },
    cfg,
  );
  const decision: DecisionRecord = {
    ...d,
    hardwareClass: cls,
    candidateSamples: samples,
    baselineSamples: baselines.map((b) => b.valBpb),
  };
  const scored = {
    baselineBpb: d.baselineMean,
    delta: latest.metrics!.val_bpb - (d.baselineMean ?? Number.NaN),
  };
  if (d.verdict === 'wait') {
    if (await baselineExhausted(deps, p.track, p.base, cls)) {
      const reason = `no baseline: every baseline run of ${p.base.slice(0, 7)} on ${cls} crashed`;
      await setVerdict(deps, latest.id, 'discard', reason);
      await updateProposal(deps, p.id, { status: 'discarded', verdictReason: reason, decision });
      return;
    }
    await setVerdict(deps, latest.id, 'pending', d.reason);
    await updateProposal(deps, p.id, { status: 'awaiting_baseline', decision });
    await deps.store.addAwaiting(p.track, p.base, cls, p.id);
    await ensureBaselineJobs(deps, p.track, p.base, cls);
    // A baseline that finished between our read and our registration has already taken the
    // awaiting set: look again, so that no candidate waits for a wake-up that never comes.
    const again = await deps.store.getBaselineSamples(p.track, p.base, cls);
    const noiseNow = pooledNoise(await deps.store.baselineGroups(p.track, cls));
    if (again.length > baselines.length || noiseNow.df > noise.df) {
      for (const pid of await deps.store.takeAwaiting(p.track, p.base, cls))
        await evaluate(deps, merge, pid, cls);
    }
    return;
  }
  await setVerdict(deps, latest.id, d.verdict === 'reject' ? 'discard' : 'promising', d.reason, scored);
  if (d.verdict === 'reject') {
    for (const r of runs) await setVerdict(deps, r.id, 'discard', d.reason);
    await updateProposal(deps, p.id, { status: 'discarded', verdictReason: d.reason, decision });
    return;
  }
  if (d.verdict === 'replicate') {
    const screener = screen?.workerId ?? null;
    const exclude = (await isTrusted(deps, screener, cls)) ? null : screener;
    const fresh = await updateProposal(deps, p.id, {
      status: 'confirming',
      verdictReason: d.reason,
      decision,
    });
    await queueRun(
      deps,
      fresh!,
      'confirm',
      cls,
      candidateSeed(deps.config.seed, p.id, runs.length),
      exclude,
      true,
    );
    return;
  }
  if (await batchRunning(deps, p.track, cls, ownBatch)) {
    // Merging now would move the head under a batch of winners being re-verified on it:
    // this one joins the next batch instead, and the running batch stays valid.
    const waiting = await updateProposal(deps, p.id, {
      status: 'reverify',
      originalBase: p.originalBase ?? p.base,
      verdictReason: `${d.reason}; joins the next re-verification batch (one is running)`,
      decision,
    });
    for (const r of runs) await setVerdict(deps, r.id, 'promising', d.reason);
    await joinBatch(deps, waiting!, cls);
    return;
  }
  const m = await merge.merge({
    proposal: p,
    decision,
    runs: runs.map((r) => ({
      experimentId: r.id,
      valBpb: r.metrics!.val_bpb,
      steps: r.metrics!.num_steps,
      tokensM: r.metrics!.total_tokens_M,
      peakVramMb: r.metrics!.peak_vram_mb,
    })),
  });
  if (m.status === 'merged') {
    for (const r of runs) await setVerdict(deps, r.id, 'keep', d.reason);
    await updateProposal(deps, p.id, {
      status: 'merged',
      mergedCommit: m.commit,
      verdictReason: d.reason,
      decision,
    });
  } else if (m.status === 'conflict') {
    await setVerdict(deps, latest.id, 'conflict', `rebase onto ${m.head.slice(0, 7)} conflicts`);
    await updateProposal(deps, p.id, {
      status: 'conflict',
      conflict: m.hunk,
      verdictReason: `${d.reason}; rebase onto ${m.head.slice(0, 7)} conflicts`,
      decision,
    });
  } else if (m.status === 'stale') {
    await setVerdict(deps, latest.id, 'stale', m.reason);
    await updateProposal(deps, p.id, { status: 'stale', verdictReason: m.reason, decision });
  } else {
    // Re-verification: the rebased patch runs again on the new head, on the same class.
    const moved = await updateProposal(deps, p.id, {
      status: 'reverify',
      originalBase: p.originalBase ?? p.base,
      base: m.head,
      patch: m.patch,
      rebases: p.rebases + 1,
      verdictReason: `${d.reason}; rebased onto ${m.head.slice(0, 7)}, re-verifying`,
      decision,
    });
    await ensureBaselineJobs(deps, p.track, m.head, cls);
    await joinBatch(deps, moved!, cls);
  }
}
