/**
 * The acceptance pipeline through the real coordinator (HTTP, Redis, BullMQ, git) with
 * simulated workers: liars never merge, parallel winners are never lost, throttled runs are
 * queued again, duplicates never run twice.
 */
import type { Lease, Proposal } from '@ratchet/shared';
import { FINAL_PROPOSAL_STATUSES } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { qualityPatch, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import {
  bonusPatch,
  createSimWorker,
  okOutcome,
  SIM_PROFILE,
  standinLandscape,
} from './support/sim-worker.ts';

let t: TestCoordinator | null = null;
const sims: ReturnType<typeof createSimWorker>[] = [];
const running: Promise<void>[] = [];
afterEach(async () => {
  for (const s of sims) s.stop();
  await Promise.allSettled(running);
  sims.length = 0;
  running.length = 0;
  await t?.close();
  t = null;
});

/** A worker token; trusted unless told (a lone untrusted token cannot merge on its own). */
async function workerToken(tc: TestCoordinator, name = 'sim', trusted = true) {
  return (await tc.admin.tokens.create.mutate({ role: 'worker', name, trusted })).token;
}

function sim(
  tc: TestCoordinator,
  token: string,
  name: string,
  extra: Partial<Parameters<typeof createSimWorker>[0]> = {},
) {
  const w = createSimWorker({
    url: tc.url,
    token,
    name,
    file: 'train.py',
    landscape: standinLandscape,
    sigma: 0.002,
    seed: name.length * 7919 + 1,
    ...extra,
  });
  sims.push(w);
  running.push(w.run());
  return w;
}

async function final(tc: TestCoordinator, id: string, timeoutMs = 60_000): Promise<Proposal> {
  return waitFor(
    async () => {
      const p = await tc.admin.proposals.get.query({ id });
      return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
    },
    timeoutMs,
    `proposal ${id}`,
  );
}

describe('the acceptance pipeline', () => {
  it('never merges the fabricated gains of a lying worker', async () => {
    // Once the lying screen is set aside, the honest runs of the null patch are judged alone:
    // at α 0.01 their noise alone would pass now and then (the default is 0.002). A thousandth keeps
    // what is tested on the liar.
    t = await startCoordinator({ RATCHET_ALPHA: '0.001' });
    // Three volunteers, each with a token of its own, none trusted. Only the liar runs at
    // first: it measures the baselines honestly and screens every candidate; its baselines
    // wait for another principal's to agree.
    // Its lie on the small patch (−0.08, 40σ) stays beyond the bound of agreement even at
    // the youngest noise estimate (at most 14σ̂), so the confirmation contradicts it; a
    // smaller lie that slips within the bound is caught by corroboration instead
    // (`lifecycle.test.ts`).
    const liar = sim(t, await workerToken(t, 'liar', false), 'liar', {
      lie: (l) => (l.patch?.includes('1.0000001') ? -0.4 : -0.08),
    });
    const small = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '1.00000'),
      description: 'no-op',
    });
    const huge = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '1.0000001'),
      description: 'no-op 2',
    });
    await waitFor(
      async () => liar.done.filter((l) => l.kind === 'candidate').length >= 2,
      30_000,
      'the screens',
    );
    sim(t, await workerToken(t, 'honest', false), 'honest');
    sim(t, await workerToken(t, 'third', false), 'third');
    const [a, b] = await Promise.all([final(t, small.proposal.id), final(t, huge.proposal.id)]);
    const runsOf = async (p: Proposal) => {
      const exps = await t!.admin.experiments.list.query({ track: 'standin' });
      const names = new Map((await t!.c.deps.store.listWorkers()).map((w) => [w.id, w.name]));
      return exps
        .filter((e) => p.experimentIds.includes(e.id))
        .map(
          (e) =>
            `${e.stage} ${names.get(e.workerId ?? '')} ${e.metrics?.val_bpb} ${e.verdict}: ${e.verdictReason}`,
        );
    };
    const runsOfA = await runsOf(a);
    expect(a.status, JSON.stringify({ reason: a.verdictReason, runs: runsOfA })).toBe('discarded');
    // The screen and the confirmation disagreed; a third principal sided with the confirmation.
    // (Its own last reason is the decision on the runs that stand.)
    const screenRun = runsOfA.find((r) => r.startsWith('screen '));
    expect(screenRun).toContain('the screen was wrong');
    expect(b.status).toBe('quarantined');
    const track = await t.admin.tracks.get.query({ id: 'standin' });
    expect(
      (await t.admin.results.query({ track: 'standin' })).filter(
        (r) => r.status === 'keep' && r.stage !== 'baseline',
      ),
    ).toEqual([]);
    expect(track.head).toBe(a.base);
    // The confirmation and the arbitration ran on other workers than the screener.
    const exps = await t.admin.experiments.list.query({ track: 'standin' });
    const mine = (stage: string) => exps.find((e) => e.proposalId === a.id && e.stage === stage);
    expect(mine('confirm')?.workerId).not.toBe(mine('screen')?.workerId);
    expect([mine('screen')?.workerId, mine('confirm')?.workerId]).not.toContain(mine('arbitrate')?.workerId);
    expect(mine('screen')?.verdict).toBe('invalid');
  });

  it('merges two winners found on the same base: the second after rebase and re-verification', async () => {
    // Without lease-time rebasing, the second screen runs on the old base, as it would when
    // both are leased before either merges.
    t = await startCoordinator({ RATCHET_REBASE_ON_LEASE: '0' });
    sim(t, await workerToken(t), 'w1');
    const base = (await t.admin.tracks.get.query({ id: 'standin' })).head;
    const p1 = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.970000'),
      description: 'lower QUALITY',
    });
    const p2 = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: bonusPatch('0.020000'),
      description: 'add BONUS',
    });
    const [a, b] = await Promise.all([final(t, p1.proposal.id), final(t, p2.proposal.id)]);
    expect([a.status, b.status]).toEqual(['merged', 'merged']);
    const second = [a, b].find((p) => p.rebases > 0)!;
    expect(second.originalBase).toBe(base);
    expect(second.base).not.toBe(base);
    const head = (await t.admin.tracks.get.query({ id: 'standin' })).head;
    const file = (await t.admin.tracks.file.query({ id: 'standin', commit: head, path: 'train.py' })).content;
    expect(file).toContain('QUALITY = 0.970000');
    expect(file).toContain('BONUS = 0.020000');
  });

  it('runs a screen queued before a merge on the new head, rebased when leased', async () => {
    t = await startCoordinator();
    sim(t, await workerToken(t), 'w1');
    const base = (await t.admin.tracks.get.query({ id: 'standin' })).head;
    const p1 = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.970000'),
      description: 'lower QUALITY',
    });
    const p2 = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: bonusPatch('0.020000'),
      description: 'add BONUS',
    });
    const a = await final(t, p1.proposal.id);
    const b = await final(t, p2.proposal.id);
    expect([a.status, b.status]).toEqual(['merged', 'merged']);
    // One worker: the first merged while the second waited in the queue, so the second was
    // carried onto the new head when leased and measured there — no run on the old base.
    expect(b.originalBase).toBe(base);
    expect(b.base).toBe(a.mergedCommit);
    const exps = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
      (e) => e.proposalId === b.id,
    );
    expect(exps.map((e) => e.base)).toEqual(exps.map(() => a.mergedCommit));
    expect(exps.filter((e) => e.stage === 'screen')).toHaveLength(1);
    const head = (await t.admin.tracks.get.query({ id: 'standin' })).head;
    const file = (await t.admin.tracks.file.query({ id: 'standin', commit: head, path: 'train.py' })).content;
    expect(file).toContain('QUALITY = 0.970000');
    expect(file).toContain('BONUS = 0.020000');
  });

  it.each([
    ['after both ran and won, in the merge train', '0'],
    ['when the second is leased, before it costs a run', '1'],
  ])(
    'reports the second of two conflicting patches as a conflict, with the hunk: %s',
    async (_, rebaseOnLease) => {
      t = await startCoordinator({ RATCHET_REBASE_ON_LEASE: rebaseOnLease });
      sim(t, await workerToken(t), 'w1');
      const p1 = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('1.000000', '0.970000'),
        description: 'a',
      });
      const p2 = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('1.000000', '0.960000'),
        description: 'b',
      });
      const results = await Promise.all([final(t, p1.proposal.id), final(t, p2.proposal.id)]);
      expect(results.map((p) => p.status).sort()).toEqual(['conflict', 'merged']);
      const c = results.find((p) => p.status === 'conflict')!;
      expect(c.conflict).toContain('<<<<<<<');
      expect(c.conflict).toContain('QUALITY');
      const runs = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
        (e) => e.proposalId === c.id,
      );
      if (rebaseOnLease === '1') {
        expect(runs.map((e) => [e.status, e.verdict])).toEqual([['cancelled', 'conflict']]);
        expect(c.decision).toBeNull();
      } else {
        expect(c.decision?.verdict).toBe('accept');
        expect(runs.every((e) => e.status === 'ok')).toBe(true);
      }
    },
  );

  it('does not run the confirmation of a winner whose patch conflicts with the moved head', async () => {
    t = await startCoordinator();
    const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'w', trusted: true });
    const c = createClient(t.url, token);
    const w1 = (await c.workers.register.mutate({ name: 'w1', profile: SIM_PROFILE })).workerId;
    const w2 = (await c.workers.register.mutate({ name: 'w2', profile: SIM_PROFILE })).workerId;
    const p1 = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.970000'),
      description: 'a',
    });
    const p2 = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.960000'),
      description: 'b',
    });
    let n = 0;
    const value = (l: Lease) =>
      (l.patch?.includes('+QUALITY = 0.97') ? 0.97 : l.patch?.includes('+QUALITY = 0.96') ? 0.96 : 1) +
      (n++ % 2 ? 0.001 : -0.001);
    const take = async (workerId: string) => (await c.workers.lease.mutate({ workerId, waitMs: 0 })).lease;
    const done = (workerId: string, l: Lease) =>
      c.workers.complete.mutate({
        workerId,
        experimentId: l.experimentId,
        leaseToken: l.leaseToken,
        outcome: okOutcome(value(l)),
      });
    // Baselines first; then both screens run at once, on the same head.
    let a = await take(w1);
    while (a && a.kind === 'baseline') {
      await done(w1, a);
      a = await take(w1);
    }
    const b = await take(w2);
    const of = async (l: Lease | null) =>
      l && (await t!.c.deps.store.getExperiment(l.experimentId))?.proposalId;
    expect([await of(a), await of(b)]).toEqual([p1.proposal.id, p2.proposal.id]);
    await done(w1, a!);
    await done(w2, b!);
    // Both won their screens: the first confirmation merges, and the second would conflict.
    for (let l = await take(w1); l; l = await take(w1)) await done(w1, l);
    const [m, x] = await Promise.all([final(t, p1.proposal.id), final(t, p2.proposal.id)]);
    expect(m.status).toBe('merged');
    expect(x.status).toBe('conflict');
    expect(x.conflict).toContain('QUALITY');
    const runs = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
      (e) => e.proposalId === x.id,
    );
    expect(runs.map((e) => [e.stage, e.status]).sort()).toEqual([
      ['confirm', 'cancelled'],
      ['screen', 'ok'],
    ]);
  });

  it('queues a throttled run again instead of comparing it', async () => {
    t = await startCoordinator();
    let throttledOnce = false;
    sim(t, await workerToken(t), 'w1', {
      steps: (l) => {
        if (l.kind === 'candidate' && !throttledOnce) {
          throttledOnce = true;
          return 90;
        }
        return 400;
      },
    });
    const p = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.970000'),
      description: 'x',
    });
    const done = await final(t, p.proposal.id);
    expect(done.status).toBe('merged');
    const exps = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
      (e) => e.proposalId === done.id,
    );
    expect(exps.filter((e) => e.verdict === 'throttled')).toHaveLength(1);
    expect(done.throttleRequeues).toBe(1);
    expect(done.decision?.n).toBe(2);
  });

  it('runs every candidate with a seed of its own, apart from the baselines', async () => {
    t = await startCoordinator();
    sim(t, await workerToken(t), 'w1');
    const ids: string[] = [];
    for (const to of ['1.010000', '1.020000']) {
      const r = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('1.000000', to),
        description: `worse ${to}`,
      });
      ids.push(r.proposal.id);
    }
    for (const id of ids) await final(t, id);
    const exps = await t.admin.experiments.list.query({ track: 'standin' });
    const seeds = exps.map((e) => e.seed);
    // One seed shared by every screen would bias them all alike against the baselines' mean.
    expect(new Set(seeds).size).toBe(seeds.length);
    expect(exps.filter((e) => e.kind === 'candidate')).toHaveLength(2);
  });

  it('runs a duplicate proposal once and gives back the earlier verdict', async () => {
    t = await startCoordinator();
    sim(t, await workerToken(t), 'w1');
    const patch = qualityPatch('1.000000', '1.010000');
    const first = await t.admin.proposals.submit.mutate({ track: 'standin', patch, description: 'worse' });
    const again = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: `${patch}\n`.replace(/\n/g, '\r\n'),
      description: 'same, CRLF',
    });
    expect(again.created).toBe(false);
    expect(again.proposal.id).toBe(first.proposal.id);
    const done = await final(t, first.proposal.id);
    expect(done.status).toBe('discarded');
    const later = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch,
      description: 'third time',
    });
    expect(later.created).toBe(false);
    expect(later.proposal.status).toBe('discarded');
    const runs = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
      (e) => e.proposalId === done.id,
    );
    expect(runs).toHaveLength(1);
  });
});
