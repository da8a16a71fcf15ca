/**
 * The completion protocol. A finished run's outcome is accepted in one atomic Redis step
 * (ACCEPT_OUTCOME: stored durably, keyed by experiment and lease token, and the lease ended),
 * and only then is its BullMQ job finished and the outcome recorded. Whatever dies between
 * those steps, the outcome is not lost: the worker's retry with the same lease token finds
 * it and finishes the recording, and so does the reconciliation sweep (`reconcile.ts`). A
 * recording is claimed for a short while, so two callers never record one outcome twice.
 *
 * Also here: ending an experiment with an explicit `error` verdict when it failed for reasons
 * outside its patch too often (infrastructure give-backs, the attempt limit).
 */
import type { Experiment } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { onBatchRun } from '../merge/batch-verdict.ts';
import { moveProposal } from '../proposals/proposal-status.ts';
import { classQueueName, generalQueueName, Priority } from '../queue/queues.ts';
import type { OutcomeRecord } from '../store/store.ts';
import { evaluate, finishedRun } from './lifecycle-driver.ts';
import { onBaseline, recordOutcome } from './results.ts';

/**
 * How long a caller holds the recording of an accepted outcome before another may take over:
 * one lease TTL, far longer than a recording takes, and short enough that the outcome of a
 * completion that died is recorded by the next retry or sweep soon after.
 */
export function recordingClaimMs(deps: Pick<Deps, 'config'>): number {
  return deps.config.leaseTtlMs;
}
/**
 * Leases an experiment gets that end without a result (expired, or given back for
 * infrastructure reasons); past that it ends with an `error` verdict (a poison job).
 */
export const MAX_ATTEMPTS = 5;
/** Infrastructure give-backs an experiment gets before it ends with an `error` verdict. */
export const MAX_INFRA_RELEASES = 3;

/**
 * Finish an accepted outcome: its job out of the queue, then the run recorded, unless it was
 * recorded already (the experiment is final). Safe to call again after any crash.
 */
export async function finishRecording(deps: Deps, expId: string, rec: OutcomeRecord): Promise<void> {
  const { lease, outcome } = rec;
  await deps.queues.finish(lease.queue, lease.jobId, lease.token, { status: outcome.status });
  deps.events.step?.('complete:job-finished');
  const exp = await deps.store.getExperiment(expId);
  if (exp && (exp.status === 'queued' || exp.status === 'running')) {
    await recordOutcome(deps, { ...exp, workerId: lease.workerId }, outcome);
  } else if (exp?.recordedAt) {
    // Recorded, but the call died before its outcome stopped being pending: the hand-over to
    // the lifecycle may not have happened.
    await resumeHandOver(deps, exp);
  }
  await deps.store.outcomeRecorded(expId);
}

/**
 * Hand a recorded run to what waits for it again, where that is safe to repeat: a baseline
 * (its replicate claims and the awaiting set make it idempotent), a batch still running on
 * this run, a proposal still `running` (nothing of this run's verdict was written yet).
 */
async function resumeHandOver(deps: Deps, exp: Experiment): Promise<void> {
  if (exp.kind === 'baseline') {
    if (exp.hardwareClass) await onBaseline(deps, exp);
    return;
  }
  if (exp.batchId) {
    const b = await deps.store.batches.get(exp.batchId);
    if (b?.state === 'running' && b.runs.at(-1) === exp.id) await onBatchRun(deps, exp);
    return;
  }
  if (!exp.proposalId || !exp.hardwareClass) return;
  const p = await deps.store.getProposal(exp.proposalId);
  if (p?.status === 'running') await evaluate(deps, p.id, exp.hardwareClass, finishedRun(exp));
}

/** The queue and priority a lost job of this experiment goes back to. */
export function requeuePlace(e: Experiment): { queue: string; priority: number } {
  const priority =
    e.kind === 'baseline'
      ? Priority.baseline
      : e.batchId
        ? Priority.reverify
        : e.stage === 'confirm'
          ? Priority.confirm
          : Priority.candidate;
  return {
    queue: e.hardwareClass ? classQueueName(e.track, e.hardwareClass) : generalQueueName(e.track),
    priority,
  };
}

/**
 * End an experiment that never produced a result, for reasons outside its patch: status
 * `cancelled`, verdict `error`. Its proposal ends `error` (not `crashed`: it was not judged);
 * a batch's run dissolves its batch, whose members are re-verified alone.
 */
export async function endWithError(deps: Deps, exp: Experiment, reason: string): Promise<void> {
  const ended: Experiment = {
    ...exp,
    status: 'cancelled',
    verdict: 'error',
    verdictReason: reason,
    workerId: null,
    recordedAt: deps.clock.now(),
  };
  await deps.store.putExperiment(ended);
  if (exp.batchId) await onBatchRun(deps, ended);
  else if (exp.proposalId && exp.kind === 'candidate')
    await moveProposal(deps, exp.proposalId, 'error', reason);
  deps.events.experimentFinished?.({ experimentId: exp.id });
}
