/**
 * Batch re-verification through the real coordinator (HTTP, Redis, BullMQ, git), driven by
 * hand so that the order of events is exact: three winners found in parallel on one base;
 * the first merges; the other two are re-verified together in one run and merge in one
 * commit — or, when that run fails, are re-verified one by one.
 */
import type { Lease } from '@ratchet/shared';
import { type Client, createClient } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { qualityPatch, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { bonusPatch, okOutcome, SIM_PROFILE } from './support/sim-worker.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const commentPatch = [
  '--- a/train.py',
  '+++ b/train.py',
  '@@ -1,2 +1,2 @@',
  "-# A stand-in for autoresearch's train.py: no model, the upstream output format.",
  "+# A stand-in for autoresearch's train.py: no model; the upstream output format.",
  ' import os',
  '',
].join('\n');

async function hand(tc: TestCoordinator) {
  const { token } = await tc.admin.tokens.create.mutate({ role: 'worker', name: 'lab', trusted: true });
  const client: Client = createClient(tc.url, token);
  const { workerId } = await client.workers.register.mutate({ name: 'hand', profile: SIM_PROFILE });
  return {
    async lease(): Promise<Lease> {
      const l = (await client.workers.lease.mutate({ workerId, waitMs: 3000 })).lease;
      if (!l) throw new Error('no job to lease');
      return l;
    },
    /** The next candidate job; baselines met on the way are run at `baseline`. */
    async candidate(baseline: number): Promise<Lease> {
      for (;;) {
        const l = (await client.workers.lease.mutate({ workerId, waitMs: 3000 })).lease;
        if (!l) throw new Error('no job to lease');
        if (l.kind === 'candidate') return l;
        await client.workers.complete.mutate({
          workerId,
          experimentId: l.experimentId,
          leaseToken: l.leaseToken,
          outcome: okOutcome(baseline),
        });
      }
    },
    complete: (l: Lease, value: number) =>
      client.workers.complete.mutate({
        workerId,
        experimentId: l.experimentId,
        leaseToken: l.leaseToken,
        outcome: okOutcome(value),
      }),
  };
}

/** Baselines of the head at 1.000 ± 0.001, then the three screens and their confirmations. */
async function threeWinners(tc: TestCoordinator) {
  const w = await hand(tc);
  const submit = (patch: string, description: string) =>
    tc.admin.proposals.submit.mutate({ track: 'standin', patch, description });
  const q = (await submit(qualityPatch('1.000000', '0.970000'), 'quality')).proposal;
  const b = (await submit(bonusPatch('0.020000'), 'bonus')).proposal;
  const c = (await submit(commentPatch, 'comment')).proposal;
  // Baselines of the head at 1.000 ± 0.001 until the noise estimate is ripe, then the screens.
  const around = [1.0, 1.001, 0.999, 1.0005, 0.9995, 1.0];
  let b0 = 0;
  const screens: Lease[] = [];
  while (screens.length < 3) {
    const l = await w.lease();
    if (l.kind === 'baseline') await w.complete(l, around[b0++ % around.length]!);
    else screens.push(l);
  }
  // All three screens are out on the same base before any of them is decided.
  expect(new Set(screens.map((l) => l.baseCommit)).size).toBe(1);
  for (const l of screens) await w.complete(l, 0.97);
  const confirms = [await w.candidate(1.0), await w.candidate(1.0), await w.candidate(1.0)];
  for (const l of confirms) await w.complete(l, 0.971);
  return { w, ids: [q.id, b.id, c.id], base: screens[0]!.baseCommit };
}

describe('batch re-verification', () => {
  it('re-verifies two winners together in one run and merges them in one commit', async () => {
    t = await startCoordinator();
    const tc = t;
    const { w, ids, base } = await threeWinners(tc);
    const ps = await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })));
    const first = ps.find((p) => p.status === 'merged')!;
    const waiting = ps.filter((p) => p.status === 'reverify');
    expect(waiting).toHaveLength(2);
    // One job runs both rebased patches on the new head.
    const batch = await w.candidate(0.97);
    expect(batch.baseCommit).toBe(first.mergedCommit);
    expect(batch.baseCommit).not.toBe(base);
    expect(batch.patch).toContain('BONUS = 0.020000');
    expect(batch.patch).toContain('no model; the upstream');
    await w.complete(batch, 0.95);
    const after = await Promise.all(waiting.map((p) => tc.admin.proposals.get.query({ id: p.id })));
    expect(after.map((p) => p.status)).toEqual(['merged', 'merged']);
    expect(after[0]!.mergedCommit).toBe(after[1]!.mergedCommit);
    const head = (await tc.admin.tracks.get.query({ id: 'standin' })).head;
    expect(head).toBe(after[0]!.mergedCommit);
    const file = (await tc.admin.tracks.file.query({ id: 'standin', commit: head, path: 'train.py' }))
      .content;
    expect(file).toContain('QUALITY = 0.970000');
    expect(file).toContain('BONUS = 0.020000');
    expect(file).toContain('no model; the upstream');
    const rows = await tc.admin.results.query({ track: 'standin' });
    expect(rows.find((r) => r.description.startsWith('together:'))?.status).toBe('keep');
  });

  it('earns the batch another run when its first is near the threshold', async () => {
    t = await startCoordinator();
    const tc = t;
    const { w, ids } = await threeWinners(tc);
    const batch = await w.candidate(0.97);
    // Against the new head's two baselines (0.970, 0.971; σ 0.00078 at ν = 5): Δ −0.0017 beats
    // the screen's margin (2σ) but not a re-verification's t(0.95, 5) = 2.02 (t −1.79).
    await w.complete(batch, 0.9688);
    const first = (await tc.admin.experiments.list.query({ track: 'standin' })).find(
      (e) => e.id === batch.experimentId,
    )!;
    expect(first.verdict, first.verdictReason ?? '').toBe('promising');
    // The same union on the same head runs again, and together the two runs decide.
    const again = await w.candidate(0.97);
    expect([again.baseCommit, again.patch]).toEqual([batch.baseCommit, batch.patch]);
    await w.complete(again, 0.962);
    const ps = await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })));
    expect(ps.map((p) => p.status)).toEqual(['merged', 'merged', 'merged']);
    expect(ps[1]!.mergedCommit).toBe(ps[2]!.mergedCommit);
  });

  it('re-verifies each member alone when the batch run does not hold the gain', async () => {
    t = await startCoordinator();
    const tc = t;
    const { w, ids } = await threeWinners(tc);
    const batch = await w.candidate(0.97);
    await w.complete(batch, 0.97); // no better than the head, which already has 0.97
    const waiting = (await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })))).filter(
      (p) => p.status !== 'merged',
    );
    expect(waiting.map((p) => p.status)).toEqual(['reverify', 'reverify']);
    expect(waiting.every((p) => p.verdictReason?.includes('re-verifying alone'))).toBe(true);
    // Alone: the bonus still gains, the comment does not.
    const byPatch = async (l: Lease) => (l.patch?.includes('BONUS = 0.020000') ? 0.95 : 0.97);
    for (let i = 0; i < 6; i++) {
      const pending = await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })));
      if (pending.every((p) => ['merged', 'discarded'].includes(p.status))) break;
      const l = await w.candidate(0.97);
      await w.complete(l, await byPatch(l));
    }
    const final = await waitFor(
      async () => {
        const ps = await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })));
        return ps.every((p) => ['merged', 'discarded'].includes(p.status)) ? ps : null;
      },
      10_000,
      'the members to be decided alone',
    );
    expect(final.map((p) => [p.description, p.status])).toEqual([
      ['quality', 'merged'],
      ['bonus', 'merged'],
      ['comment', 'discarded'],
    ]);
    // Alone, a member draws a seed none of its runs had: its screen's seed would replay the
    // luck the screen was selected for, wherever noise follows the seed.
    const exps = await tc.admin.experiments.list.query({ track: 'standin' });
    for (const p of final) {
      const seeds = exps.filter((e) => p.experimentIds.includes(e.id)).map((e) => e.seed);
      expect(new Set(seeds).size, `${p.description}: seeds ${seeds.join(', ')}`).toBe(seeds.length);
    }
  });
});
