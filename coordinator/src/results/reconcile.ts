/**
 * Reconciliation: what a crash or an outage may leave half done is finished or put back.
 *
 * At start-up (`reconcileAtStart`, before any stalled check runs):
 * - every accepted outcome not yet recorded is recorded (`completion.ts`);
 * - every `running` experiment is checked against its lease and its BullMQ job:
 *   lease and active job: its lock is taken again for the lease's owner, who has one more
 *   lock period to heartbeat (a restart shorter than that loses no lease);
 *   job waiting in a queue: the experiment is `queued` again (the lease, if any, is ended);
 *   no job at all: the experiment is queued again with a new job.
 * Periodically (`finishPendingOutcomes`): outcomes accepted a while ago and still pending
 * (their completion died and the worker stopped retrying) are recorded.
 */
import type { Experiment } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { classQueueName, generalQueueName } from '../queue/queues.ts';
import { laterQueueName } from '../reports/portability.ts';
import { finishRecording, recordingClaimMs, requeuePlace } from './completion.ts';

export interface SweepReport {
  /** Accepted outcomes recorded. */
  recorded: number;
  /** Running experiments put back in the queue (their job waited, or was gone). */
  requeued: number;
  /** Running experiments whose lease still holds: left to their worker. */
  kept: number;
}

/** Record the pending outcomes accepted at or before `beforeMs`; returns how many. */
export async function finishPendingOutcomes(deps: Deps, beforeMs: number): Promise<number> {
  let n = 0;
  for (const id of await deps.store.pendingOutcomes(beforeMs)) {
    // Null when another caller is recording it now (or it expired, and is forgotten).
    const rec = await deps.store.claimOutcome(id, deps.clock.now(), recordingClaimMs(deps));
    if (!rec) continue;
    await finishRecording(deps, id, rec);
    n++;
  }
  return n;
}

function queuesOf(track: string, classes: Set<string>): string[] {
  return [
    generalQueueName(track),
    ...[...classes].flatMap((c) => [classQueueName(track, c), laterQueueName(track, c)]),
  ];
}

export async function reconcileAtStart(deps: Deps): Promise<SweepReport> {
  const report: SweepReport = { recorded: 0, requeued: 0, kept: 0 };
  report.recorded = await finishPendingOutcomes(deps, Number.POSITIVE_INFINITY);
  const lost: Experiment[] = [];
  const pending = new Set(await deps.store.pendingOutcomes(Number.POSITIVE_INFINITY));
  const workerClasses = (await deps.store.listWorkers()).flatMap((w) => [
    w.hardwareClass,
    ...Object.values(w.classes),
  ]);
  for (const t of await deps.store.listTracks()) {
    const running = (await deps.store.listExperiments(t.config.id)).filter(
      (e) => e.status === 'running' && !pending.has(e.id),
    );
    if (running.length === 0) continue;
    const classes = new Set([
      ...workerClasses,
      ...running.flatMap((e) => (e.hardwareClass ? [e.hardwareClass] : [])),
    ]);
    const jobs = await deps.queues.jobsByExperiment(queuesOf(t.config.id, classes));
    for (const e of running) {
      const r = await reconcileOne(deps, e, jobs.get(e.id));
      if (r === 'kept') report.kept++;
      else report.requeued++;
      if (r === 'new job') lost.push(e);
    }
  }
  // New jobs last: adding one starts its queue's stalled checks, which must not run before
  // every lapsed lock above is taken back.
  for (const e of lost) {
    const place = requeuePlace(e);
    await deps.queues.add(place.queue, { experimentId: e.id }, place.priority);
  }
  return report;
}

/**
 * One running experiment: `kept` when its lease holds and it is left to its worker; `queued`
 * when its job is in a queue (or will be, once an unfinished grant's lock lapses); `new job`
 * when its job is gone and it needs another.
 */
async function reconcileOne(
  deps: Deps,
  e: Experiment,
  job: { queue: string; jobId: string; state: string } | undefined,
): Promise<'kept' | 'queued' | 'new job'> {
  const lease = await deps.store.getLease(e.id);
  if (lease && job?.state === 'active' && (await deps.queues.relock(lease.queue, lease.jobId, lease.token))) {
    return 'kept';
  }
  if (lease) await deps.store.finishLease(e.id, lease.token);
  await deps.store.putExperiment({ ...e, status: 'queued', workerId: null });
  return job ? 'queued' : 'new job';
}
