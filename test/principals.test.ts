/**
 * Independence is counted in principals (the token behind a worker), not in worker IDs, over
 * real HTTP with scripted liars (`support/liar-worker.ts`): one token posing as two workers
 * cannot confirm its own forged gain, a lone untrusted token cannot merge on its own numbers,
 * and a worker ID serves only the token that registered it.
 */
import { ErrorCodes, FINAL_PROPOSAL_STATUSES, type Lease, type Proposal } from '@ratchet/shared';
import { createClient, errorCode } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { qualityPatch, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { createLiarWorker, type LiarWorker } from './support/liar-worker.ts';
import { bonusPatch, okOutcome, SIM_PROFILE } from './support/sim-worker.ts';

let t: TestCoordinator | null = null;
const workers: LiarWorker[] = [];
afterEach(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  workers.length = 0;
  await t?.close();
  t = null;
});

async function tokenFor(tc: TestCoordinator, name: string, trusted = false) {
  return (await tc.admin.tokens.create.mutate({ role: 'worker', name, trusted })).token;
}

function liar(
  tc: TestCoordinator,
  token: string,
  name: string,
  o: Partial<Parameters<typeof createLiarWorker>[0]>,
) {
  const w = createLiarWorker({
    url: tc.url,
    token,
    name,
    shift: 0,
    sigma: 0.0005,
    seed: name.length * 7919,
    ...o,
  });
  workers.push(w);
  return w;
}

const get = (tc: TestCoordinator, id: string) => tc.admin.proposals.get.query({ id });

/**
 * What a lone token's work waits for: a second principal to confirm its screen, or, before
 * that, to verify its baselines (an untrusted token's baselines alone never count).
 */
const WAITING =
  /waiting for (a second principal on \S+: only token 'vol-1' has run it|another principal to verify the baselines)/;

/**
 * How long a proposal may take to end or wait. Alone these scenarios take 10–30 s; under the
 * whole suite on two cores one took over 30 s to end (a clean-clone CI run timed out there).
 */
const SETTLE_MS = 75_000;
/** A scenario that waits for proposals more than once. */
const LONG_TEST_MS = 240_000;

/** The proposal once it has ended, or once it waits for a second principal. */
async function settled(tc: TestCoordinator, id: string, timeoutMs = SETTLE_MS): Promise<Proposal> {
  return waitFor(
    async () => {
      const p = await get(tc, id);
      return FINAL_PROPOSAL_STATUSES.includes(p.status) || WAITING.test(p.verdictReason ?? '') ? p : null;
    },
    timeoutMs,
    `proposal ${id} to end or wait for a second principal`,
  );
}

async function final(tc: TestCoordinator, id: string, timeoutMs = SETTLE_MS): Promise<Proposal> {
  return waitFor(
    async () => {
      const p = await get(tc, id);
      return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
    },
    timeoutMs,
    `proposal ${id} to end`,
  );
}

describe('principals', () => {
  it('refuses a worker ID used with another token, and the lease stays with its owner', async () => {
    t = await startCoordinator();
    const owner = createClient(t.url, await tokenFor(t, 'vol-1'));
    const other = createClient(t.url, await tokenFor(t, 'vol-2'));
    const { workerId } = await owner.workers.register.mutate({ name: 'a', profile: SIM_PROFILE });
    const lease = (await owner.workers.lease.mutate({ workerId, waitMs: 0 })).lease as Lease;
    expect(lease).not.toBeNull();
    const ref = { workerId, experimentId: lease.experimentId, leaseToken: lease.leaseToken };
    expect(errorCode(await other.workers.lease.mutate({ workerId, waitMs: 0 }).catch((e) => e))).toBe(
      ErrorCodes.WORKER_NOT_OWNED,
    );
    for (const call of [
      other.workers.complete.mutate({ ...ref, outcome: okOutcome(0.5, 5) }),
      other.workers.heartbeat.mutate({ ...ref, progress: null }),
      other.workers.release.mutate({ ...ref, reason: 'shutdown' }),
    ]) {
      const e = await call.catch((x: unknown) => x);
      expect(errorCode(e)).toBe(ErrorCodes.WORKER_NOT_OWNED);
      expect((e as { data?: { httpStatus?: number } }).data?.httpStatus).toBe(403);
    }
    // Nothing was lost: the lease is still the owner's, and its result is taken once.
    expect((await t.admin.experiments.get.query({ id: lease.experimentId })).status).toBe('running');
    await owner.workers.complete.mutate({ ...ref, outcome: okOutcome(1.0, 5) });
    expect((await t.admin.experiments.get.query({ id: lease.experimentId })).status).toBe('ok');
  });

  it(
    'never merges a harmful patch that one token screens and "confirms" as two workers',
    async () => {
      t = await startCoordinator();
      const token = await tokenFor(t, 'vol-1');
      // Two worker IDs, one token: both forge a 0.02 gain on every candidate run.
      const forged = { shift: -0.02, lieOn: { screen: true, confirm: true } };
      const a = liar(t, token, 'vol-1-a', forged);
      const b = liar(t, token, 'vol-1-b', forged);
      await a.register();
      await b.register();
      const head = (await t.admin.tracks.get.query({ id: 'standin' })).head;
      const harmful = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('1.000000', '1.010000'),
        description: 'harmful: QUALITY up by 0.01',
      });
      a.start();
      b.start();
      const p = await settled(t, harmful.proposal.id);
      expect(p.status).not.toBe('merged');
      expect(p.verdictReason).toMatch(WAITING);
      // However long it waits, no worker of that token runs the confirmation.
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await get(t, harmful.proposal.id)).status).not.toBe('merged');
      const confirms = [...a.jobs, ...b.jobs].filter((j) => j.stage === 'confirm');
      expect(confirms).toEqual([]);
      // Other principals check it: the forged screen is contradicted, a third principal sides
      // with the confirmation, and the patch is discarded.
      liar(t, await tokenFor(t, 'vol-2'), 'vol-2', {}).start();
      liar(t, await tokenFor(t, 'vol-3'), 'vol-3', {}).start();
      const end = await final(t, harmful.proposal.id);
      expect(end.status).toBe('discarded');
      expect((await t.admin.tracks.get.query({ id: 'standin' })).head).toBe(head);
    },
    LONG_TEST_MS,
  );

  it(
    'keeps a lone untrusted token from merging on its own numbers, and merges real gains once a second principal joins',
    async () => {
      t = await startCoordinator();
      // A liar alone in its class: it reports null patches (QUALITY edits) 0.02 better than it
      // measured, and real gains honestly.
      const lone = liar(t, await tokenFor(t, 'vol-1'), 'vol-1', {
        shift: -0.02,
        lieOn: { screen: true, confirm: true },
        lieWhen: (j) => j.lease.patch?.includes('QUALITY') ?? false,
      });
      const head = (await t.admin.tracks.get.query({ id: 'standin' })).head;
      const nul = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('1.000000', '1.00000'),
        description: 'null: the same QUALITY',
      });
      const gain = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: bonusPatch('0.010000'),
        description: 'real: BONUS 0.01',
      });
      lone.start();
      for (const id of [nul.proposal.id, gain.proposal.id]) {
        const p = await settled(t, id);
        expect(p.status).not.toBe('merged');
        expect(p.verdictReason).toMatch(WAITING);
      }
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await t.admin.tracks.get.query({ id: 'standin' })).head).toBe(head);
      const aloneRuns = lone.jobs.length;

      // Honest principals join the class (a second to verify and confirm, a third to arbitrate
      // the null patch's forged screen): the real gain merges, the null patch does not.
      const honest = liar(t, await tokenFor(t, 'vol-2'), 'vol-2', {});
      honest.start();
      const third = liar(t, await tokenFor(t, 'vol-3'), 'vol-3', {});
      third.start();
      const [n, g] = await Promise.all([final(t, nul.proposal.id), final(t, gain.proposal.id)]);
      expect(n.status).toBe('discarded');
      expect(g.status).toBe('merged');
      const confirmOfGain = [...honest.jobs, ...third.jobs].find(
        (j) => j.stage === 'confirm' && j.lease.patch?.includes('BONUS'),
      );
      expect(confirmOfGain).toBeDefined();
      console.log(
        `lone liar: ${aloneRuns} runs alone, ${lone.jobs.length + honest.jobs.length + third.jobs.length} in all; ` +
          `lies ${JSON.stringify(lone.lies())}; null ${n.status}, gain ${g.status}`,
      );
    },
    LONG_TEST_MS,
  );

  it(
    'does not let trust earned on a class stand in for a second principal',
    async () => {
      t = await startCoordinator({ RATCHET_TRUST_THRESHOLD: '1' });
      // vol-1 measures real gains honestly and lies about WIDTH edits, which change nothing.
      // Exact measurements (no noise): the liar agrees with itself to the digit.
      const a = liar(t, await tokenFor(t, 'vol-1'), 'vol-1', {
        shift: -0.02,
        sigma: 0,
        lieOn: { screen: true, confirm: true },
        lieWhen: (j) => /^\+WIDTH/m.test(j.lease.patch ?? ''),
      });
      const b = liar(t, await tokenFor(t, 'vol-2'), 'vol-2', { sigma: 0 });
      a.start();
      b.start();
      // A real gain, screened by one and confirmed by the other: both earn trust on the class.
      const gain = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: bonusPatch('0.010000'),
        description: 'real: BONUS 0.01',
      });
      expect((await final(t, gain.proposal.id)).status).toBe('merged');
      await b.stop();
      const head = (await t.admin.tracks.get.query({ id: 'standin' })).head;
      const nul = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: [
          '--- a/train.py',
          '+++ b/train.py',
          '@@ -9,3 +9,3 @@',
          ' # More constants, far enough from QUALITY for patches of each to merge cleanly.',
          '-WIDTH = 64',
          '+WIDTH = 65',
          ' BONUS = 0.010000  # subtracted from val_bpb',
          '',
        ].join('\n'),
        description: 'null: WIDTH 65',
      });
      const p = await settled(t, nul.proposal.id);
      expect(p.status).not.toBe('merged');
      expect(p.verdictReason).toMatch(/waiting for a second principal on \S+: only token 'vol-1' has run it/);
      expect((await t.admin.tracks.get.query({ id: 'standin' })).head).toBe(head);
    },
    LONG_TEST_MS,
  );
});
