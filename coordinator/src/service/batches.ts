/**
 * Batch re-verification, the merge train's answer to many workers. A winner confirmed on a
 * base the head has left must be re-verified on the new head before it merges; done one by
 * one, merges are serial at one run each, and every re-verification in flight when another
 * merges must run again. Instead, winners that need re-verification join the open batch of
 * their (track, class). When a worker leases the batch, its members are composed onto the
 * head as it is then (3-way, one after another) and run as one patch. If that run passes the
 * t rule on its own (every member was already confirmed on its old base), all members merge
 * in one commit. Otherwise the batch dissolves: each member is re-verified alone, as before.
 * One batch per (track, class) runs at a time; winners arriving meanwhile form the next.
 * A batch of one member is judged exactly like a lone re-verification.
 */
import { type Experiment, FINAL_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import { classQueueName, Priority } from '../queue/queues.ts';
import { ensureBaselineJobs } from './baselines.ts';
import type { Deps } from './deps.ts';
import { newExperiment } from './proposals.ts';

const openKey = (deps: Deps, track: string, cls: string) => deps.store.key('batch', 'open', track, cls);
export const runKey = (deps: Deps, track: string, cls: string) => deps.store.key('batch', 'run', track, cls);
export const membersKey = (deps: Deps, expId: string) => deps.store.key('batch', 'members', expId);

/** Add to the open batch if `open` is still it. */
const JOIN = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('RPUSH', KEYS[2], ARGV[2]) return 1 end return 0`;
/** Open a new batch with its first member, unless one is open already. */
const OPEN = `if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('RPUSH', KEYS[2], ARGV[2]) return 1 end return 0`;
/** Close the batch to new members (it is being leased) and return them. */
const FREEZE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return redis.call('LRANGE', KEYS[2], 0, -1)`;

export async function addExperimentId(deps: Deps, proposalId: string, expId: string) {
  const p = await deps.store.getProposal(proposalId);
  if (p && !p.experimentIds.includes(expId))
    await deps.store.putProposal({ ...p, experimentIds: [...p.experimentIds, expId] });
}

/** A batch re-verification experiment on `base` (members and patch are set when leased). */
export function batchExperiment(
  deps: Deps,
  o: Pick<Experiment, 'track' | 'proposalId' | 'base' | 'stage'> & { cls: string; seed?: number },
): Experiment {
  return newExperiment(deps, {
    track: o.track,
    kind: 'candidate',
    proposalId: o.proposalId,
    base: o.base,
    hardwareClass: o.cls,
    stage: o.stage,
    batch: true,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  });
}

/** A winner rebased onto a moved head (status `reverify`) joins its class's open batch. */
export async function joinBatch(deps: Deps, p: Proposal, cls: string): Promise<void> {
  const redis = deps.store.redis;
  for (let attempt = 0; attempt < 5; attempt++) {
    const open = await redis.get(openKey(deps, p.track, cls));
    if (open) {
      if (
        (await redis.eval(JOIN, 2, openKey(deps, p.track, cls), membersKey(deps, open), open, p.id)) === 1
      ) {
        await addExperimentId(deps, p.id, open);
        return;
      }
      continue;
    }
    const exp = batchExperiment(deps, {
      track: p.track,
      proposalId: p.id,
      base: p.base,
      stage: 'screen',
      cls,
    });
    await deps.store.putExperiment(exp);
    if (
      (await redis.eval(OPEN, 2, openKey(deps, p.track, cls), membersKey(deps, exp.id), exp.id, p.id)) === 1
    ) {
      await addExperimentId(deps, p.id, exp.id);
      await deps.queues.add(classQueueName(p.track, cls), { experimentId: exp.id }, Priority.reverify);
      return;
    }
    await deps.store.putExperiment({
      ...exp,
      status: 'cancelled',
      verdictReason: 'superseded by another batch',
    });
  }
  throw new Error(`could not join a re-verification batch on ${p.track}`);
}

/** Take over the run slot from `ARGV[1]` (a batch that is no longer out). */
const TAKE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0`;

/** One batch per (track, class) is out at a time: claim the slot, atomically. */
async function claimRun(deps: Deps, exp: Experiment, cls: string): Promise<boolean> {
  const key = runKey(deps, exp.track, cls);
  const redis = deps.store.redis;
  for (let i = 0; i < 3; i++) {
    if ((await redis.set(key, exp.id, 'NX')) === 'OK') return true;
    const holder = await redis.get(key);
    if (holder === exp.id) return true;
    if (!holder) continue;
    const other = await deps.store.getExperiment(holder);
    if (other && (other.status === 'running' || other.status === 'queued')) return false;
    if ((await redis.eval(TAKE, 1, key, holder, exp.id)) === 1) return true;
  }
  return false;
}

export type BatchLease = { run: Experiment } | { wait: true } | { drop: true };

/**
 * Lease time: freeze the members, compose them onto the head, and run the union. Another
 * batch of the class still running → wait; nothing left to run → drop.
 */
export async function leaseBatch(deps: Deps, exp: Experiment, cls: string): Promise<BatchLease> {
  const redis = deps.store.redis;
  if (!(await claimRun(deps, exp, cls))) return { wait: true };
  if (exp.members.length > 0 && exp.patch !== null) {
    // A replicate, or leased before (the lease was lost or given back): the same union again.
    return { run: exp };
  }
  const ids = (await redis.eval(
    FREEZE,
    2,
    openKey(deps, exp.track, cls),
    membersKey(deps, exp.id),
    exp.id,
  )) as string[];
  const members: Proposal[] = [];
  for (const id of [...new Set(ids)]) {
    const p = await deps.store.getProposal(id);
    if (p && !FINAL_PROPOSAL_STATUSES.includes(p.status)) members.push(p);
  }
  const head = (await deps.frontier.head(exp.track)) ?? exp.base;
  const composed = await deps.frontier.compose(
    head,
    members.map((p) => ({ base: p.base, patch: p.patch })),
  );
  const included: string[] = [];
  for (const [i, p] of members.entries()) {
    const o = composed.outcomes[i]!;
    const at = head.slice(0, 7);
    if (o.status === 'included') included.push(p.id);
    else if (o.status === 'conflict')
      await deps.store.putProposal({
        ...p,
        status: 'conflict',
        conflict: o.hunk,
        verdictReason: `re-verification: the patch conflicts with the head ${at} or with the winners merged with it`,
      });
    else
      await deps.store.putProposal({
        ...p,
        status: 'stale',
        verdictReason: `the head ${at} already holds this change`,
      });
  }
  if (included.length === 0 || composed.patch.trim() === '') {
    await deps.store.putExperiment({
      ...exp,
      status: 'cancelled',
      verdictReason: 'nothing left to re-verify',
    });
    await redis.eval(RELEASE, 1, runKey(deps, exp.track, cls), exp.id);
    return { drop: true };
  }
  const run: Experiment = {
    ...exp,
    base: head,
    members: included,
    patch: composed.patch,
    proposalId: included[0]!,
  };
  await deps.store.putExperiment(run);
  await ensureBaselineJobs(deps, exp.track, head, cls);
  return { run };
}

/**
 * A batch of this class holds the run slot (composing, queued or running): merging a winner
 * now would move the head under it and void its run, so the winner joins the next batch.
 */
export async function batchRunning(
  deps: Deps,
  track: string,
  cls: string,
  ownBatch: string | null = null,
): Promise<boolean> {
  const id = await deps.store.redis.get(runKey(deps, track, cls));
  if (!id || id === ownBatch) return false;
  const e = await deps.store.getExperiment(id);
  return !!e && (e.status === 'running' || e.status === 'queued');
}
