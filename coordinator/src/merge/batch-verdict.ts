/**
 * Carries out a batch's transitions (`pipeline/batch-lifecycle.ts`) when its run comes back:
 * all members merge in one commit, the batch earns another run near the threshold, a lone
 * member takes the usual path, or the batch dissolves and each member is re-verified alone.
 */
import { type Batch, type Experiment, FINAL_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import { workerPrincipal } from '../auth/principals.ts';
import { ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { livePrincipals } from '../lease/arbiter.ts';
import {
  afterBatchMerge,
  type BatchAction,
  type BatchRunState,
  judgeBatch,
  type RunBy,
} from '../pipeline/batch-lifecycle.ts';
import { candidateSeed } from '../pipeline/seeds.ts';
import { pooledNoise } from '../pipeline/stats.ts';
import { addExperimentId, moveProposal } from '../proposals/proposal-status.ts';
import { newExperiment } from '../proposals/proposals.ts';
import { classQueueName, Priority } from '../queue/queues.ts';
import { evaluate, finishedRun, perform, setVerdict } from '../results/lifecycle-driver.ts';
import { batchRun, joinBatch } from './batches.ts';

/** Who stands behind a run of a batch: its principal, and whether its token is trusted. */
async function runBy(deps: Deps, workerId: string | null): Promise<RunBy> {
  const w = workerId ? await deps.store.getWorker(workerId) : null;
  return { principal: w ? workerPrincipal(w).id : null, trusted: w?.trusted ?? false };
}

/**
 * Its result is in. The batch keeps the track's run slot until it is judged (and merged), so
 * that no other batch is composed on a head about to move; a replicate keeps it longer.
 */
export async function onBatchRun(deps: Deps, run: Experiment): Promise<void> {
  let e = run;
  let b = e.batchId ? await deps.store.batches.get(e.batchId) : null;
  if (!b) return;
  const cls = b.hardwareClass;
  if (b.dependsOn) {
    const settled = await settleSpeculation(deps, b, e);
    if (!settled) return;
    ({ b, e } = settled);
  }
  try {
    const earlier: BatchRunState['earlier'] = [];
    for (const id of b.runs) {
      if (id === e.id) continue;
      const x = await deps.store.getExperiment(id);
      if (x?.status === 'ok' && x.metrics && x.base === e.base && x.verdict !== 'quarantined')
        earlier.push({ valBpb: x.metrics.val_bpb, ...(await runBy(deps, x.workerId)) });
    }
    const baselines = await deps.store.getBaselineSamples(b.track, e.base, cls);
    const actions = judgeBatch(
      {
        members: b.members,
        base: e.base,
        cls,
        run: {
          id: e.id,
          status: e.status === 'ok' ? 'ok' : e.status === 'patch_failed' ? 'patch_failed' : 'crash',
          valBpb: e.metrics?.val_bpb ?? null,
          workerId: e.workerId,
          crashMessage: e.crash?.message ?? null,
          ...(await runBy(deps, e.workerId)),
        },
        earlier,
        baselines,
        noise: pooledNoise(await deps.store.baselineGroups(b.track, cls)),
        bestGain: await deps.store.bestGain(b.track, cls),
        seed: candidateSeed(deps.config.seed, b.id, b.runs.length),
        livePrincipals: await livePrincipals(deps, cls),
      },
      deps.config.acceptance,
    );
    await performBatch(deps, b, e, actions);
  } finally {
    const now = await deps.store.batches.get(b.id);
    if (now?.state !== 'running') {
      await deps.store.batches.releaseSlot(b.track, b.id);
      await wakeSpeculative(deps, b);
    }
  }
}

/**
 * A speculative batch's run is back. While the batch ahead is undecided it waits; once
 * decided, the run holds if the head has exactly the code it ran on (the union ahead merged):
 * the batch moves onto the head and takes the slot. Otherwise only this batch is redone: its
 * members join the next batch. Null when there is nothing to judge now.
 */
async function settleSpeculation(
  deps: Deps,
  b: Batch,
  e: Experiment,
): Promise<{ b: Batch; e: Experiment } | null> {
  const batches = deps.store.batches;
  if ((await batches.get(b.dependsOn!))?.state === 'running') {
    await batches.put({ ...b, waiting: e.id });
    await batches.park(b.id, e.id);
    // The batch ahead may have been decided meanwhile and found nothing parked yet: whoever
    // takes the parked run (this call or wakeSpeculative) judges it, exactly once.
    if ((await batches.get(b.dependsOn!))?.state === 'running' || (await batches.unpark(b.id)) === null)
      return null;
  }
  const head = await deps.frontier.head(b.track);
  const holds = head !== null && (await deps.frontier.treeOf(head)) === (await deps.frontier.treeOf(e.base));
  if (holds && (await batches.claimSlot(b.track, b.id, async () => false))) {
    const moved: Batch = { ...b, base: head, dependsOn: null, waiting: null };
    await batches.put(moved);
    await batches.releaseNext(b.track, b.id);
    const on: Experiment = { ...e, base: head };
    await deps.store.putExperiment(on);
    return { b: moved, e: on };
  }
  await setVerdict(deps, e.id, 'stale', 'the batch ahead did not merge: this run was on top of it');
  await batches.put({ ...b, state: 'dissolved', waiting: null });
  await batches.releaseNext(b.track, b.id);
  for (const p of await openMembers(deps, b)) await joinBatch(deps, p, b.hardwareClass);
  return null;
}

/** The batch `b` is decided: judge the run of the batch on top of it, if it is back. */
async function wakeSpeculative(deps: Deps, b: Batch) {
  const next = await deps.store.batches.nextHolder(b.track);
  const nb = next ? await deps.store.batches.get(next) : null;
  if (nb?.dependsOn !== b.id) return;
  const parked = await deps.store.batches.unpark(nb.id);
  const run = parked ? await deps.store.getExperiment(parked) : null;
  if (run) await onBatchRun(deps, run);
}

async function openMembers(deps: Deps, b: Batch): Promise<Proposal[]> {
  const ps = await Promise.all(b.members.map((id) => deps.store.getProposal(id)));
  return ps.filter((p): p is Proposal => p !== null && !FINAL_PROPOSAL_STATUSES.includes(p.status));
}

async function performBatch(deps: Deps, b: Batch, e: Experiment, actions: BatchAction[]): Promise<void> {
  const cls = b.hardwareClass;
  for (const a of actions) {
    switch (a.type) {
      case 'setVerdict':
        await setVerdict(deps, a.experimentId, a.verdict, a.reason, a.scored ?? {});
        break;
      case 'quarantine':
        await setVerdict(deps, a.experimentId, 'quarantined', a.reason);
        if (a.workerId) await deps.store.resetTrust(a.workerId, cls);
        break;
      case 'ensureBaselines':
        await ensureBaselineJobs(deps, b.track, a.commit, cls);
        break;
      case 'forMember': {
        const p = await deps.store.getProposal(a.proposalId);
        if (p) await perform(deps, p, cls, [a.action], b.id);
        break;
      }
      case 'dissolve':
        for (const p of await openMembers(deps, b)) await reverifyAlone(deps, p, cls, a.reason);
        break;
      case 'replicate': {
        const again = batchRun(deps, b, {
          base: e.base,
          stage: 'confirm',
          seed: a.seed,
          excludePrincipals: a.excludePrincipals ?? [],
        });
        await deps.store.putExperiment({ ...again, patch: e.patch });
        b.runs.push(again.id);
        await deps.store.batches.put(b);
        for (const id of b.members) await addExperimentId(deps, id, again.id);
        await deps.queues.add(classQueueName(b.track, cls), { experimentId: again.id }, Priority.confirm);
        break;
      }
      case 'judgeAlone': {
        // Exactly a re-verification of its rebased patch on this head.
        const moved = await moveProposal(deps, a.proposalId, 'reverify', undefined, {
          base: e.base,
          ...(e.patch !== null ? { patch: e.patch } : {}),
        });
        if (moved) await evaluate(deps, a.proposalId, cls, finishedRun(e), b.id);
        break;
      }
      case 'mergeBatch': {
        const members = await openMembers(deps, b);
        const m = await deps.merge.mergeBatch({
          batchId: b.id,
          track: b.track,
          base: e.base,
          patch: e.patch ?? '',
          members,
          decision: a.decision,
          run: {
            experimentId: e.id,
            valBpb: e.metrics!.val_bpb,
            steps: e.metrics!.num_steps,
            tokensM: e.metrics!.total_tokens_M,
            peakVramMb: e.metrics!.peak_vram_mb,
          },
        });
        const next = afterBatchMerge(
          { runId: e.id, base: e.base, members: members.map((p) => p.id), decision: a.decision },
          m,
        );
        await performBatch(deps, b, e, next);
        return;
      }
      case 'rejoin':
        for (const p of await openMembers(deps, b)) await joinBatch(deps, p, cls);
        break;
      case 'finish':
        b.state = a.state;
        await deps.store.batches.put(b);
        break;
    }
  }
}

/** A member re-verified alone (on its own rebased patch; rebased again when leased). */
async function reverifyAlone(deps: Deps, p: Proposal, cls: string, why: string) {
  const exp = newExperiment(deps, {
    track: p.track,
    kind: 'candidate',
    proposalId: p.id,
    base: p.base,
    hardwareClass: cls,
    stage: 'screen',
    // A seed none of its runs had: its screen's would replay the luck the screen was chosen for.
    seed: candidateSeed(deps.config.seed, p.id, p.experimentIds.length),
  });
  await deps.store.putExperiment(exp);
  await addExperimentId(deps, p.id, exp.id);
  await moveProposal(deps, p.id, 'reverify', `${why}; re-verifying alone`);
  await deps.queues.add(classQueueName(p.track, cls), { experimentId: exp.id }, Priority.reverify);
}
