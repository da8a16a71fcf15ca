/**
 * The merge train and re-verification batches through the real coordinator (HTTP, Redis,
 * BullMQ, git), driven by hand so that the order of events is exact: a direct merge that
 * was queued before a batch was composed lands first, and the batch is composed on the head
 * it leaves, so the batch's run is not voided by a head that moved under it.
 */
import { unifiedDiff } from '@ratchet/proposers';
import type { Lease } from '@ratchet/shared';
import { type Client, createClient } from '@ratchet/worker';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { qualityPatch, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { bonusPatch, okOutcome, SIM_PROFILE } from './support/sim-worker.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const AROUND = [1.0, 1.001, 0.999, 1.0005, 0.9995, 1.0];

/**
 * Runs that share a seed, as `seed: ids`. Where noise follows the seed, two runs of one seed
 * measure one draw twice: a batch's run would repeat every other batch's luck, and a member
 * re-verified with its screen's seed would replay the luck its screen was selected for.
 */
async function sharedSeeds(tc: TestCoordinator): Promise<string[]> {
  const exps = await tc.admin.experiments.list.query({ track: 'standin' });
  const by = new Map<number, string[]>();
  for (const e of exps)
    by.set(e.seed, [...(by.get(e.seed) ?? []), `${e.stage}${e.batchId ? ' (batch)' : ''}`]);
  return [...by].filter(([, v]) => v.length > 1).map(([k, v]) => `${k}: ${v.join(', ')}`);
}

async function hand(tc: TestCoordinator, name: string, cores: number) {
  const { token } = await tc.admin.tokens.create.mutate({ role: 'worker', name, trusted: true });
  const client: Client = createClient(tc.url, token);
  const { workerId } = await client.workers.register.mutate({
    name,
    profile: { ...SIM_PROFILE, cpuCores: cores },
  });
  let b = 0;
  const complete = (l: Lease, value: number) =>
    client.workers.complete.mutate({
      workerId,
      experimentId: l.experimentId,
      leaseToken: l.leaseToken,
      outcome: okOutcome(value),
    });
  return {
    complete,
    /** One lease call, whatever it brings. */
    lease: async (waitMs: number) => (await client.workers.lease.mutate({ workerId, waitMs })).lease,
    /** Run every baseline job there is, around `level`. */
    async baselines(level: number) {
      for (;;) {
        const l = (await client.workers.lease.mutate({ workerId, waitMs: 300 })).lease;
        if (!l) return;
        if (l.kind !== 'baseline')
          throw new Error(`expected only baselines, got ${l.kind} ${l.baseCommit} ${l.patch}`);
        await complete(l, level - 1 + AROUND[b++ % AROUND.length]!);
      }
    },
    /** The next candidate job; baselines met on the way are run around `level`. */
    async candidate(level: number): Promise<Lease> {
      for (;;) {
        const l = (await client.workers.lease.mutate({ workerId, waitMs: 3000 })).lease;
        if (!l) throw new Error('no job to lease');
        if (l.kind === 'candidate') return l;
        await complete(l, level - 1 + AROUND[b++ % AROUND.length]!);
      }
    },
  };
}

describe('the merge train and batches', () => {
  it('composes a batch after a direct merge queued before it, so the merge does not void the batch', async () => {
    t = await startCoordinator();
    const tc = t;
    const a = await hand(tc, 'a', 8);
    const submit = (patch: string, description: string, base?: string) =>
      tc.admin.proposals.submit.mutate({ track: 'standin', patch, description, ...(base ? { base } : {}) });
    // Two winners on one base: the first merges, the second waits in a batch on class A.
    const q1 = (await submit(qualityPatch('1.000000', '0.970000'), 'quality')).proposal;
    const q2 = (await submit(bonusPatch('0.020000'), 'bonus')).proposal;
    const screens = [await a.candidate(1.0), await a.candidate(1.0)];
    for (const l of screens) await a.complete(l, 0.97);
    for (let i = 0; i < 2; i++) await a.complete(await a.candidate(1.0), 0.971);
    const h1 = (await tc.admin.proposals.get.query({ id: q1.id })).mergedCommit!;
    expect((await tc.admin.proposals.get.query({ id: q2.id })).status).toBe('reverify');

    // A third winner on the new head, found by a worker of another class.
    const b = await hand(tc, 'b', 4);
    const file = (await tc.admin.tracks.file.query({ id: 'standin', commit: h1, path: 'train.py' })).content;
    const q3 = (
      await submit(unifiedDiff('train.py', file, file.replace('STEPS = 5', 'STEPS = 6')), 'steps', h1)
    ).proposal;
    await b.complete(await b.candidate(0.97), 0.94);
    const confirm = await b.candidate(0.97);

    // Another coordinator process holds the track's merge lock: the third winner's merge
    // queues behind it, and class A leases the batch meanwhile.
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const lockKey = `${tc.prefix}:lock:merge:standin`;
    try {
      expect(await redis.set(lockKey, 'other', 'PX', 20_000, 'NX')).toBe('OK');
      const merging = b.complete(confirm, 0.941);
      await new Promise((r) => setTimeout(r, 500));
      const leasing = a.candidate(0.97);
      await new Promise((r) => setTimeout(r, 1000));
      await redis.del(lockKey);
      await merging;
      const batch = await leasing;
      const h2 = (await tc.admin.proposals.get.query({ id: q3.id })).mergedCommit;
      expect(h2).not.toBeNull();
      // The batch runs on the head as it is after the direct merge, and so can merge.
      expect(batch.baseCommit).toBe(h2);
      await a.complete(batch, 0.92);
      await a.baselines(0.97);
      const p2 = await tc.admin.proposals.get.query({ id: q2.id });
      expect([p2.status, p2.verdictReason]).toEqual(['merged', expect.any(String)]);
      expect((await tc.admin.tracks.get.query({ id: 'standin' })).head).toBe(p2.mergedCommit);
    } finally {
      redis.disconnect();
    }
  });
});

/**
 * Three winners on one base: the first merges; the second is re-verified in a batch on the
 * new head; the third, confirmed while that batch runs, goes into the next batch, which is
 * leased at once and composed on top of the batch ahead.
 */
async function speculativeTrain(tc: TestCoordinator) {
  const a = await hand(tc, 'a', 8);
  const head0 = (await tc.admin.tracks.get.query({ id: 'standin' })).head;
  const file = (await tc.admin.tracks.file.query({ id: 'standin', commit: head0, path: 'train.py' })).content;
  const submit = (patch: string, description: string) =>
    tc.admin.proposals.submit.mutate({ track: 'standin', patch, description });
  const q1 = (await submit(qualityPatch('1.000000', '0.970000'), 'quality')).proposal;
  const q2 = (await submit(bonusPatch('0.020000'), 'bonus')).proposal;
  const q3 = (await submit(unifiedDiff('train.py', file, file.replace('STEPS = 5', 'STEPS = 6')), 'steps'))
    .proposal;
  const screens = [await a.candidate(1.0), await a.candidate(1.0), await a.candidate(1.0)];
  for (const l of screens) await a.complete(l, 0.97);
  await a.complete(await a.candidate(1.0), 0.971); // q1 confirmed: merges
  await a.complete(await a.candidate(1.0), 0.971); // q2 confirmed: re-verification batch opens
  const first = await a.candidate(0.97); // the batch, composed on the new head
  const h1 = (await tc.admin.proposals.get.query({ id: q1.id })).mergedCommit!;
  expect(first.baseCommit).toBe(h1);
  await a.complete(await a.candidate(0.97), 0.971); // q3 confirmed while the batch runs
  expect((await tc.admin.proposals.get.query({ id: q3.id })).status).toBe('reverify');
  const second = await a.candidate(0.97); // the next batch, on top of the first
  return { a, ids: [q1.id, q2.id, q3.id], h1, first, second };
}

describe('the speculative merge train', () => {
  it('runs the next batch on top of the batch ahead, and merges it on that run once the batch ahead merged', async () => {
    t = await startCoordinator();
    const tc = t;
    const { a, ids, h1, first, second } = await speculativeTrain(tc);
    expect(second.baseCommit).not.toBe(h1);
    expect(second.patch).toContain('STEPS = 6');
    expect(second.patch).not.toContain('BONUS');
    // The run on top comes back first, and waits for the batch ahead.
    await a.complete(second, 0.93);
    expect((await tc.admin.proposals.get.query({ id: ids[2]! })).status).toBe('reverify');
    await a.complete(first, 0.95);
    const ps = await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })));
    expect(ps.map((p) => p.status)).toEqual(['merged', 'merged', 'merged']);
    const head = (await tc.admin.tracks.get.query({ id: 'standin' })).head;
    expect(ps[2]!.mergedCommit).toBe(head);
    const content = (await tc.admin.tracks.file.query({ id: 'standin', commit: head, path: 'train.py' }))
      .content;
    expect(content).toContain('STEPS = 6');
    expect(content).toContain('BONUS = 0.020000');
    // No run was repeated: the speculative run counts, now on the merged head.
    const exps = await tc.admin.experiments.list.query({ track: 'standin' });
    const run = exps.find((e) => e.id === second.experimentId)!;
    expect(run.base).toBe(ps[1]!.mergedCommit);
    expect(run.verdict).toBe('keep');
    // Two batches, each run with a seed of its own.
    expect(first.seed).not.toBe(second.seed);
    expect(await sharedSeeds(tc)).toEqual([]);
  });

  it('redoes only the batch on top when the batch ahead does not merge', async () => {
    t = await startCoordinator();
    const tc = t;
    const { a, ids, first, second } = await speculativeTrain(tc);
    await a.complete(first, 0.97); // the bonus does not hold on the new head
    await a.complete(second, 0.94);
    const exps = await tc.admin.experiments.list.query({ track: 'standin' });
    expect(exps.find((e) => e.id === second.experimentId)?.verdict).toBe('stale');
    // The bonus is discarded; only the steps change runs again, on the head as it is.
    expect((await tc.admin.proposals.get.query({ id: ids[1]! })).status).toBe('discarded');
    const again = await a.candidate(0.97);
    expect(again.baseCommit).toBe(first.baseCommit);
    expect(again.patch).toContain('STEPS = 6');
    expect(again.patch).not.toContain('BONUS');
    await a.complete(again, 0.95);
    const p3 = await tc.admin.proposals.get.query({ id: ids[2]! });
    expect([p3.status, p3.mergedCommit]).toEqual([
      'merged',
      (await tc.admin.tracks.get.query({ id: 'standin' })).head,
    ]);
    // The run again draws a seed none of the proposal's runs had.
    expect(await sharedSeeds(tc)).toEqual([]);
  });

  it('keeps a member that conflicts with the union ahead waiting for it, without composing on it again', async () => {
    t = await startCoordinator();
    const tc = t;
    const a = await hand(tc, 'a', 8);
    const submit = (patch: string, description: string) =>
      tc.admin.proposals.submit.mutate({ track: 'standin', patch, description });
    const q1 = (await submit(qualityPatch('1.000000', '0.970000'), 'quality')).proposal;
    const q2 = (await submit(bonusPatch('0.020000'), 'bonus')).proposal;
    const q3 = (await submit(bonusPatch('0.030000'), 'more bonus')).proposal;
    const screens = [await a.candidate(1.0), await a.candidate(1.0), await a.candidate(1.0)];
    for (const l of screens) await a.complete(l, 0.97);
    const [c1, c2, c3] = [await a.candidate(1.0), await a.candidate(1.0), await a.candidate(1.0)];
    await a.complete(c1, 0.971); // q1 merges
    await a.complete(c2, 0.971); // q2 waits in a batch
    const first = await a.candidate(0.97); // q2's batch runs on the new head
    await a.complete(c3, 0.971); // q3 waits in the next batch: it conflicts with q2's union
    // While q2's batch runs, nothing is leased, and q3's batch is not composed on q2's union
    // again and again (before: about eight empty batches a second).
    expect(await a.lease(1500)).toBeNull();
    const empty = async () =>
      (await tc.admin.experiments.list.query({ track: 'standin' })).filter(
        (e) => e.verdictReason === 'nothing left to re-verify',
      ).length;
    expect(await empty()).toBeLessThanOrEqual(1);
    // Once q2 merged, q3's batch is composed on the real head: a conflict, with the hunk.
    await a.complete(first, 0.95);
    // q3's batch job waits, delayed, while q2's batch is judged and merged; one empty lease of
    // 300 ms could come before it is due (a clean-clone CI run failed so). Lease until it is
    // composed, running any baseline met on the way.
    const p3 = await waitFor(
      async () => {
        await a.baselines(0.95);
        const p = await tc.admin.proposals.get.query({ id: q3.id });
        return p.status !== 'reverify' && p;
      },
      10_000,
      "q3's batch on the new head",
    );
    expect([p3.status, p3.conflict]).toEqual(['conflict', expect.stringContaining('BONUS')]);
    expect((await tc.admin.proposals.get.query({ id: q2.id })).status).toBe('merged');
    expect((await tc.admin.proposals.get.query({ id: q1.id })).status).toBe('merged');
  });
});
