/**
 * Baseline jobs: replicates of the unmodified commit on one class, each with its own seed,
 * queued at the front of the class queue. While the class's noise estimate is young
 * (ν < minNoiseDf) a commit gets minBaselineSamples runs, and more until ν reaches
 * minNoiseDf — on a frontier that does not move, no other commit would ever add to ν, and
 * the t rule's critical value would stay huge. Afterwards two, which keeps refreshing the
 * estimate as the frontier moves. A reported baseline that does not count yet (an untrusted
 * worker's, not yet verified by another principal's: `baseline-verify.ts`) is not a replicate
 * the target counts: another is queued, for another principal than the one waiting for one.
 * When reports of several principals wait (they disagree with each other, none verified),
 * anyone may run the next: keeping them all away could leave no worker to break the tie.
 */

import type { Deps } from '../deps.ts';
import { baselineSeed } from '../pipeline/seeds.ts';
import { pooledNoise } from '../pipeline/stats.ts';
import { newExperiment } from '../proposals/proposals.ts';
import { classQueueName, Priority } from '../queue/queues.ts';
import { unverifiedBaselines } from './baseline-verify.ts';

export async function baselineTarget(deps: Deps, track: string, cls: string, have: number): Promise<number> {
  const noise = pooledNoise(await deps.store.baselineGroups(track, cls));
  const a = deps.config.acceptance;
  if (noise.df >= a.minNoiseDf) return Math.min(2, a.minBaselineSamples);
  return Math.max(a.minBaselineSamples, have + a.minNoiseDf - noise.df);
}

/** Where baseline jobs go: the front of the class queue, unless a caller says otherwise. */
export interface BaselineQueue {
  queue: string;
  priority: number;
}

export async function ensureBaselineJobs(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
  where: BaselineQueue = { queue: classQueueName(track, cls), priority: Priority.baseline },
): Promise<void> {
  // Pending runs are counted before samples: a run that finishes in between (its sample is
  // stored before its status changes) is then counted twice, never not at all, so a race
  // can only delay a replicate to the next call, not queue one too many.
  const claims = await deps.store.baselineClaims(track, commit, cls);
  let pending = 0;
  for (const id of claims) {
    // A claim whose experiment is not stored yet is being queued by a concurrent call.
    const e = await deps.store.getExperiment(id);
    if (!e || e.status === 'queued' || e.status === 'running') pending++;
  }
  const have = (await deps.store.getBaselineSamples(track, commit, cls)).length;
  const target = await baselineTarget(deps, track, cls, have);
  // Crashed baselines are retried, but only twice beyond the target: a head that always
  // crashes on a class must not fill its queue.
  // Unverified reports earn as many more, up to twice the target: a class whose only worker
  // is untrusted stops there, waiting for another principal.
  const held = await unverifiedBaselines(deps, track, commit, cls);
  const maxClaims = target + 2 + Math.min(held.count, 2 * target);
  for (let i = claims.length; have + pending < target && i < maxClaims; i++) {
    const exp = newExperiment(deps, {
      track,
      kind: 'baseline',
      proposalId: null,
      base: commit,
      hardwareClass: cls,
      seed: baselineSeed(deps.config.seed, commit, i),
      excludePrincipals: held.principals.length === 1 ? held.principals : [],
    });
    if (!(await deps.store.claimBaselineJob(track, commit, cls, i, exp.id))) break;
    await deps.store.putExperiment(exp);
    await deps.queues.add(where.queue, { experimentId: exp.id }, where.priority);
    pending++;
  }
}

/** True when every allowed baseline replicate of (commit, class) has run and none succeeded. */
export async function baselineExhausted(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
): Promise<boolean> {
  if ((await deps.store.getBaselineSamples(track, commit, cls)).length > 0) return false;
  // Reports that wait for verification did not crash: wait with them.
  if ((await deps.store.reportedBaselines(track, commit, cls)).length > 0) return false;
  const claims = await deps.store.baselineClaims(track, commit, cls);
  if (claims.length < (await baselineTarget(deps, track, cls, 0)) + 2) return false;
  for (const id of claims) {
    const e = await deps.store.getExperiment(id);
    if (!e || e.status === 'queued' || e.status === 'running') return false;
  }
  return true;
}
