/**
 * Batch re-verification, the merge train's answer to many workers. A winner confirmed on a
 * base the head has left must be re-verified on the new head before it merges; done one by
 * one, merges are serial at one run each, and every re-verification in flight when another
 * merges must run again. Instead, winners that need re-verification join the open batch of
 * their (track, class) (a `Batch` record, `store/batches.ts`). When a worker leases the batch,
 * its members are composed onto the head as it is then (3-way, one after another) and run as
 * one patch. How its run is judged is in `pipeline/batch-lifecycle.ts`.
 *
 * One batch per track holds the run slot at a time (any merge moves the head, whatever the
 * class), from the moment it is composed until it is judged; winners arriving meanwhile form
 * the next. Claiming the slot and
 * composing happen in the merge train's order (`merge.exclusive`), and a direct merge checks
 * the slot there too: a batch composed on a head never sees that head move under it.
 */
import { type Batch, type Experiment, FINAL_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import { ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { afterCompose } from '../pipeline/batch-lifecycle.ts';
import { candidateSeed } from '../pipeline/seeds.ts';
import { newId } from '../proposals/ids.ts';
import { addExperimentId, moveProposal } from '../proposals/proposal-status.ts';
import { newExperiment } from '../proposals/proposals.ts';
import { classQueueName, Priority } from '../queue/queues.ts';

/** A batch whose run came back this long ago and is still `running` is being judged. */
const JUDGING_MS = 60_000;
/** …and a speculative run parked behind the batch ahead (its replicates may take a while). */
const PARKED_MS = 30 * 60_000;

/** A run of batch `b` (its patch and base are set when the batch is composed). */
export function batchRun(
  deps: Deps,
  b: Batch,
  o: { base: string; stage: 'screen' | 'confirm'; seed?: number; excludePrincipals?: string[] },
): Experiment {
  return {
    ...newExperiment(deps, {
      track: b.track,
      kind: 'candidate',
      proposalId: null,
      base: o.base,
      hardwareClass: b.hardwareClass,
      stage: o.stage,
      // A seed of the batch's own: were every batch run with one seed, each would repeat the
      // others' luck against the baselines (`pipeline/seeds.ts`).
      seed: o.seed ?? candidateSeed(deps.config.seed, b.id, b.runs.length),
      excludePrincipals: o.excludePrincipals ?? [],
    }),
    batchId: b.id,
    batch: true,
    members: b.members,
    patch: b.patch,
  };
}

/** A winner rebased onto a moved head (status `reverify`) joins its class's open batch. */
export async function joinBatch(
  deps: Deps,
  p: Proposal,
  cls: string,
  notOn: string | null = null,
): Promise<void> {
  const batches = deps.store.batches;
  for (let attempt = 0; attempt < 5; attempt++) {
    const open = await batches.openOf(p.track, cls);
    if (open) {
      if (await batches.join(p.track, cls, open, p.id)) {
        const b = await batches.get(open);
        if (b && notOn !== null && b.notOn !== notOn) await batches.put({ ...b, notOn });
        for (const id of b?.runs ?? []) await addExperimentId(deps, p.id, id);
        return;
      }
      continue;
    }
    const b: Batch = {
      id: newId('b'),
      track: p.track,
      hardwareClass: cls,
      state: 'open',
      members: [],
      base: null,
      patch: null,
      runs: [],
      createdAt: deps.clock.now(),
      dependsOn: null,
      waiting: null,
      notOn,
    };
    const exp = batchRun(deps, b, { base: p.base, stage: 'screen' });
    b.runs.push(exp.id);
    await deps.store.putExperiment(exp);
    if (await batches.open(b, p.id)) {
      await addExperimentId(deps, p.id, exp.id);
      await deps.queues.add(classQueueName(p.track, cls), { experimentId: exp.id }, Priority.reverify);
      return;
    }
    await batches.put({ ...b, state: 'dropped' });
    await deps.store.putExperiment({
      ...exp,
      status: 'cancelled',
      verdictReason: 'superseded by another batch',
    });
  }
  throw new Error(`could not join a re-verification batch on ${p.track}`);
}

/** Whether the batch holding a run slot is still out (queued, running, or being judged). */
export async function holderLive(deps: Deps, id: string): Promise<boolean> {
  const b = await deps.store.batches.get(id);
  if (b?.state !== 'running') return false;
  const last = b.runs.length > 0 ? await deps.store.getExperiment(b.runs[b.runs.length - 1]!) : null;
  if (!last) return false;
  if (last.status === 'queued' || last.status === 'running') return true;
  // A run parked behind the batch ahead waits as long as that batch may still run; the bound
  // only frees the track if the batch ahead was lost (a coordinator stopped while judging it).
  return deps.clock.now() - (last.recordedAt ?? 0) < (b.waiting ? PARKED_MS : JUDGING_MS);
}

export type BatchLease = { run: Experiment } | { wait: true } | { drop: true };

/**
 * Lease time: freeze the members, compose them onto the head, and run the union. While the
 * batch ahead still runs, this one is composed on top of that batch's union instead and runs
 * at once (speculatively: it holds once the head has that union's code; see batch-verdict.ts).
 * Nothing left to run → drop; the slot and the speculative place both taken → wait.
 */
export async function leaseBatch(deps: Deps, exp: Experiment, cls: string): Promise<BatchLease> {
  const batches = deps.store.batches;
  const b = exp.batchId ? await batches.get(exp.batchId) : null;
  if (!b) return { drop: true };
  const live = (id: string) => holderLive(deps, id);
  if (b.state === 'running' && b.base !== null && b.patch !== null) {
    // A replicate, or leased before (the lease was lost or given back): the same union again.
    const held = b.dependsOn
      ? await batches.claimNext(b.track, b.id, live)
      : await batches.claimSlot(b.track, b.id, live);
    return held ? { run: { ...exp, base: b.base, patch: b.patch } } : { wait: true };
  }
  if (b.state !== 'open') return { drop: true };
  return deps.merge.exclusive(b.track, async (): Promise<BatchLease> => {
    const next = await batches.nextHolder(b.track);
    // The speculative batch takes over the slot when it is decided: nobody jumps ahead of it.
    if (next && next !== b.id && (await live(next))) return { wait: true };
    if (await batches.claimSlot(b.track, b.id, live)) return compose(deps, exp, b, cls, null);
    const aheadId = await batches.slotHolder(b.track);
    const ahead = aheadId ? await batches.get(aheadId) : null;
    const speculable =
      ahead?.state === 'running' &&
      ahead.id !== b.notOn &&
      ahead.hardwareClass === cls &&
      ahead.dependsOn === null &&
      ahead.base !== null &&
      ahead.patch !== null;
    if (!speculable || !(await batches.claimNext(b.track, b.id, live))) return { wait: true };
    return compose(deps, exp, b, cls, ahead);
  });
}

async function compose(
  deps: Deps,
  exp: Experiment,
  b: Batch,
  cls: string,
  ahead: Batch | null,
): Promise<BatchLease> {
  const batches = deps.store.batches;
  const ids = await batches.freeze(b.track, cls, b.id);
  const members: Proposal[] = [];
  for (const id of ids) {
    const p = await deps.store.getProposal(id);
    if (p && !FINAL_PROPOSAL_STATUSES.includes(p.status)) members.push(p);
  }
  const head = (await deps.frontier.head(b.track)) ?? exp.base;
  const onto = ahead ? await deps.frontier.speculate(ahead.base!, ahead.patch!) : head;
  const composed = await deps.frontier.compose(
    onto,
    members.map((p) => ({ base: p.base, patch: p.patch })),
  );
  const { included, actions } = afterCompose(
    members.map((p) => p.id),
    composed.outcomes,
    onto,
  );
  if (ahead) {
    // Against a union that may not merge, a conflict or a change already held proves nothing:
    // those members wait for the next batch, composed on the head as it will be.
    // They do not speculate on the same union again: each try would fail the same way.
    for (const p of members) if (!included.includes(p.id)) await joinBatch(deps, p, cls, ahead.id);
  } else {
    for (const a of actions)
      if (a.type === 'forMember' && a.action.type === 'end')
        await moveProposal(deps, a.proposalId, a.action.status, a.action.reason, a.action.fields);
  }
  const release = () => (ahead ? batches.releaseNext(b.track, b.id) : batches.releaseSlot(b.track, b.id));
  if (included.length === 0 || composed.patch.trim() === '') {
    await batches.put({ ...b, state: 'dropped', members: included });
    await deps.store.putExperiment({
      ...exp,
      status: 'cancelled',
      verdictReason: 'nothing left to re-verify',
    });
    await release();
    return { drop: true };
  }
  await batches.put({
    ...b,
    state: 'running',
    members: included,
    base: onto,
    patch: composed.patch,
    dependsOn: ahead?.id ?? null,
  });
  const run: Experiment = { ...exp, base: onto, patch: composed.patch, members: included };
  await deps.store.putExperiment(run);
  if (!ahead) await ensureBaselineJobs(deps, b.track, head, cls);
  return { run };
}
