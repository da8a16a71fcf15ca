/** Baseline jobs: one per (track, commit, class), queued at the front of the class queue. */
import { classQueueName, Priority } from '../queue/queues.ts';
import type { Deps } from './deps.ts';
import { newExperiment } from './proposals.ts';

export async function ensureBaselineJob(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
): Promise<void> {
  if (await deps.store.getBaseline(track, commit, cls)) return;
  const exp = newExperiment(deps, {
    track,
    kind: 'baseline',
    proposalId: null,
    base: commit,
    hardwareClass: cls,
  });
  if (!(await deps.store.claimBaselineJob(track, commit, cls, exp.id))) return;
  await deps.store.putExperiment(exp);
  await deps.queues.add(classQueueName(track, cls), { experimentId: exp.id }, Priority.baseline);
}
