/**
 * Carries out the proposal lifecycle (`pipeline/lifecycle.ts`): reads what the transition
 * function looks at, asks it what to do, and does it. No rule lives here; every status write
 * goes through `proposal-status.ts`.
 */
import type { Experiment, Proposal } from '@ratchet/shared';
import { principalOfWorker } from '../auth/principals.ts';
import { unverifiedBaselines } from '../baselines/baseline-verify.ts';
import { baselineExhausted, ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { joinBatch } from '../merge/batches.ts';
import {
  type Action,
  afterMerge,
  type FinishedRun,
  type LifecycleConfig,
  nextStep,
  type RunView,
} from '../pipeline/lifecycle.ts';
import { pooledNoise, throughputOf } from '../pipeline/stats.ts';
import { addExperimentId, moveProposal } from '../proposals/proposal-status.ts';
import { newExperiment } from '../proposals/proposals.ts';
import { classQueueName, generalQueueName, Priority } from '../queue/queues.ts';

const MAX_THROTTLE_REQUEUES = 3;

export function lifecycleConfig(deps: Deps): LifecycleConfig {
  return {
    acceptance: deps.config.acceptance,
    seed: deps.config.seed,
    maxThrottleRequeues: MAX_THROTTLE_REQUEUES,
  };
}

/** The finished run as the transition function sees it. */
export function finishedRun(e: Experiment): FinishedRun | null {
  if (e.status !== 'ok' && e.status !== 'crash' && e.status !== 'patch_failed') return null;
  return {
    id: e.id,
    status: e.status,
    stage: e.stage === 'confirm' || e.stage === 'arbitrate' ? e.stage : 'screen',
    seed: e.seed,
    excludeWorkerId: e.excludeWorkerId,
    excludePrincipals: e.excludePrincipals ?? [],
    crash: e.crash,
    throughput: throughputOf(e),
  };
}

/**
 * One read of a proposal's runs: those that count (finished, ok, on its current base and
 * this class), and the principals of those found wrong (`invalid`), who run nothing more of it.
 */
async function readRuns(
  deps: Deps,
  p: Proposal,
  cls: string,
): Promise<{ runs: RunView[]; blamed: string[] }> {
  const out: Experiment[] = [];
  const principals = new Map<string, RunView['principal']>();
  const who = async (workerId: string) => {
    if (!principals.has(workerId)) principals.set(workerId, await principalOfWorker(deps, workerId));
    return principals.get(workerId) ?? null;
  };
  const blamed = new Set<string>();
  for (const id of p.experimentIds) {
    const e = await deps.store.getExperiment(id);
    if (e?.verdict === 'invalid' && e.workerId) {
      const pr = await who(e.workerId);
      if (pr) blamed.add(pr.id);
    }
    if (e?.status !== 'ok' || !e.metrics || e.base !== p.base || e.hardwareClass !== cls) continue;
    if (e.verdict === 'throttled' || e.verdict === 'quarantined' || e.verdict === 'invalid') continue;
    out.push(e);
  }
  // Screens first, then confirmations and arbitrations in the order they were recorded.
  const rank = (e: Experiment) => (e.stage === 'screen' || e.stage === 'baseline' ? 0 : 1);
  out.sort((a, b) => rank(a) - rank(b) || (a.recordedAt ?? 0) - (b.recordedAt ?? 0));
  const runs: RunView[] = [];
  for (const e of out)
    runs.push({
      id: e.id,
      stage: e.stage === 'confirm' || e.stage === 'arbitrate' ? e.stage : 'screen',
      valBpb: e.metrics!.val_bpb,
      workerId: e.workerId,
      principal: e.workerId ? await who(e.workerId) : null,
      steps: e.metrics!.num_steps,
      tokensM: e.metrics!.total_tokens_M,
      peakVramMb: e.metrics!.peak_vram_mb,
    });
  return { runs, blamed: [...blamed] };
}

/**
 * Whether a worker's token is trusted (a lab's own machines): only then may it confirm its
 * own screens. Trust earned on a class (`store.trust`) does not stand in for a second
 * principal: a worker could earn it by agreeing with honest screens, then vouch for itself.
 */
async function tokenTrusted(deps: Deps, workerId: string | null): Promise<boolean> {
  if (!workerId) return false;
  return (await deps.store.getWorker(workerId))?.trusted ?? false;
}

export async function setVerdict(
  deps: Deps,
  id: string,
  verdict: Experiment['verdict'],
  reason: string,
  extra: Partial<Experiment> = {},
) {
  const e = await deps.store.getExperiment(id);
  if (e) await deps.store.putExperiment({ ...e, ...extra, verdict, verdictReason: reason });
}

/**
 * One step of a proposal's lifecycle on class `cls`, after `finished` came back (or, with
 * null, after its baselines arrived). `ownBatch`: the batch it was re-verified in.
 */
export async function evaluate(
  deps: Deps,
  proposalId: string,
  cls: string,
  finished: FinishedRun | null = null,
  ownBatch: string | null = null,
): Promise<void> {
  const p = await deps.store.getProposal(proposalId);
  if (!p) return;
  const { runs, blamed } = await readRuns(deps, p, cls);
  const baselines = await deps.store.getBaselineSamples(p.track, p.base, cls);
  const noise = pooledNoise(await deps.store.baselineGroups(p.track, cls));
  const actions = nextStep(
    {
      proposal: { ...p, runsQueued: p.experimentIds.length },
      cls,
      finished,
      runs,
      baselines,
      noise,
      bestGain: await deps.store.bestGain(p.track, cls),
      screenerTrusted: await tokenTrusted(deps, runs.find((r) => r.stage === 'screen')?.workerId ?? null),
      baselineExhausted: await baselineExhausted(deps, p.track, p.base, cls),
      unverifiedBaselines: (await unverifiedBaselines(deps, p.track, p.base, cls)).count,
      blamed,
    },
    lifecycleConfig(deps),
  );
  await perform(deps, p, cls, actions, ownBatch, { baselines: baselines.length, df: noise.df });
}

/** Carry out a transition's actions, in order, on proposal `p`. */
export async function perform(
  deps: Deps,
  p: Proposal,
  cls: string,
  actions: Action[],
  ownBatch: string | null,
  seen: { baselines: number; df: number } = { baselines: 0, df: 0 },
): Promise<void> {
  let cur = p;
  for (const a of actions) {
    switch (a.type) {
      case 'setVerdict':
        await setVerdict(deps, a.experimentId, a.verdict, a.reason, a.scored ?? {});
        break;
      case 'advance':
      case 'end': {
        const moved = await moveProposal(deps, cur.id, a.status, a.reason, a.fields);
        if (!moved) return; // it ended meanwhile: nothing more to do
        cur = moved;
        break;
      }
      case 'queueRun':
        cur = await queueRun(deps, cur, a, cls);
        break;
      case 'quarantine':
        await setVerdict(deps, a.experimentId, 'quarantined', a.reason);
        if (a.workerId) await deps.store.resetTrust(a.workerId, cls);
        break;
      case 'bumpTrust':
        for (const w of a.workerIds) await deps.store.bumpTrust(w, cls);
        break;
      case 'resetTrust':
        await deps.store.resetTrust(a.workerId, cls);
        break;
      case 'awaitBaseline':
        await awaitBaseline(deps, cur, cls, seen);
        break;
      case 'ensureBaselines':
        await ensureBaselineJobs(deps, cur.track, a.commit, cls);
        break;
      case 'joinBatch':
        await joinBatch(deps, cur, cls);
        break;
      case 'merge': {
        const m = await deps.merge.merge({
          proposal: cur,
          ownBatch,
          decision: a.decision,
          runs: a.runs.map((r) => ({
            experimentId: r.id,
            valBpb: r.valBpb,
            steps: r.steps,
            tokensM: r.tokensM,
            peakVramMb: r.peakVramMb,
          })),
        });
        await perform(
          deps,
          cur,
          cls,
          afterMerge({ proposal: cur, decision: a.decision, runs: a.runs }, m),
          ownBatch,
        );
        return;
      }
    }
  }
}

/** Queue one candidate run of a proposal. Screens go to any class unless pinned. */
async function queueRun(
  deps: Deps,
  p: Proposal,
  a: Extract<Action, { type: 'queueRun' }>,
  cls: string,
): Promise<Proposal> {
  const exp = newExperiment(deps, {
    track: p.track,
    kind: 'candidate',
    proposalId: p.id,
    base: p.base,
    hardwareClass: a.pinned ? cls : null,
    stage: a.stage,
    seed: a.seed,
    excludeWorkerId: a.excludeWorkerId,
    excludePrincipals: a.excludePrincipals ?? [],
  });
  await deps.store.putExperiment(exp);
  await addExperimentId(deps, p.id, exp.id);
  const queue = a.pinned ? classQueueName(p.track, cls) : generalQueueName(p.track);
  // Re-verifications (pinned screens), confirmations and arbitrations jump ahead of fresh screens.
  const priority =
    a.stage !== 'screen' ? Priority.confirm : a.pinned ? Priority.reverify : Priority.candidate;
  await deps.queues.add(queue, { experimentId: exp.id }, priority);
  return { ...p, experimentIds: [...p.experimentIds, exp.id] };
}

async function awaitBaseline(deps: Deps, p: Proposal, cls: string, seen: { baselines: number; df: number }) {
  await deps.store.addAwaiting(p.track, p.base, cls, p.id);
  await ensureBaselineJobs(deps, p.track, p.base, cls);
  // A baseline that finished between our read and our registration has already taken the
  // awaiting set: look again, so that no candidate waits for a wake-up that never comes.
  const again = await deps.store.getBaselineSamples(p.track, p.base, cls);
  const noiseNow = pooledNoise(await deps.store.baselineGroups(p.track, cls));
  if (again.length > seen.baselines || noiseNow.df > seen.df) {
    for (const pid of await deps.store.takeAwaiting(p.track, p.base, cls)) await evaluate(deps, pid, cls);
  }
}
