/** The worker protocol over real HTTP, Redis and git: leases, tokens, refusals. */
import { ErrorCodes, type JobOutcome, type Lease } from '@ratchet/shared';
import { createClient, errorCode } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import {
  qualityPatch,
  startCoordinator,
  TEST_CPU_PROFILE,
  type TestCoordinator,
} from '../../../test/support/harness.ts';

const profile = TEST_CPU_PROFILE;

const okOutcome = (bpb: number): JobOutcome => ({
  status: 'ok',
  metrics: {
    val_bpb: bpb,
    training_seconds: 1,
    total_seconds: 1,
    peak_vram_mb: null,
    mfu_percent: null,
    total_tokens_M: null,
    num_steps: 5,
    num_params_M: null,
    depth: null,
  },
  extra: {},
  logTail: '',
  timings: { leasedAt: 1, checkoutMs: 0, prepareMs: 0, trainStartAt: 2, trainExitAt: 3, reportedAt: 4 },
});

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return errorCode(e);
  }
}

async function leaseAll(w: ReturnType<typeof createClient>, workerId: string): Promise<Lease[]> {
  const out: Lease[] = [];
  for (;;) {
    const l = (await w.workers.lease.mutate({ workerId, waitMs: 0 })).lease;
    if (!l) return out;
    out.push(l);
  }
}

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

async function workerToken(tc: TestCoordinator, name = 'w', trusted = false) {
  return (await tc.admin.tokens.create.mutate({ role: 'worker', name, trusted })).token;
}

describe('leases', () => {
  it('gives the job to another worker when the holder stops heartbeating', async () => {
    t = await startCoordinator({ RATCHET_LEASE_TTL_MS: '1500', RATCHET_STALLED_INTERVAL_MS: '300' });
    const w = createClient(t.url, await workerToken(t));
    const a = await w.workers.register.mutate({ name: 'a', profile });
    const b = await w.workers.register.mutate({ name: 'b', profile });
    // A takes every queued job (the head's baseline replicates) and then goes silent.
    const held = await leaseAll(w, a.workerId);
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(held.every((l) => l.kind === 'baseline')).toBe(true);
    const again = (await w.workers.lease.mutate({ workerId: b.workerId, waitMs: 8_000 })).lease;
    const first = held.find((l) => l.experimentId === again?.experimentId);
    expect(first).toBeDefined();
    expect(again?.leaseToken).not.toBe(first?.leaseToken);
    // The first holder's result is refused: its lease is gone.
    const stale = w.workers.complete.mutate({
      workerId: a.workerId,
      experimentId: first!.experimentId,
      leaseToken: first!.leaseToken,
      outcome: okOutcome(1),
    });
    expect(await codeOf(stale)).toBe(ErrorCodes.LEASE_LOST);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/ratchet_lease_expiries_total [1-9]/);
  });

  it('keeps the lease while heartbeats arrive', async () => {
    t = await startCoordinator({ RATCHET_LEASE_TTL_MS: '1500', RATCHET_STALLED_INTERVAL_MS: '300' });
    const w = createClient(t.url, await workerToken(t));
    const a = await w.workers.register.mutate({ name: 'a', profile });
    const b = await w.workers.register.mutate({ name: 'b', profile });
    const held = await leaseAll(w, a.workerId);
    const stop = Date.now() + 4_000;
    const beats = (async () => {
      while (Date.now() < stop) {
        for (const l of held) {
          await w.workers.heartbeat.mutate({
            workerId: a.workerId,
            experimentId: l.experimentId,
            leaseToken: l.leaseToken,
            progress: { step: 1, percent: 10, line: 'step 1' },
          });
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const other = (await w.workers.lease.mutate({ workerId: b.workerId, waitMs: 3_500 })).lease;
    await beats;
    expect(other).toBeNull();
    const l = held[0]!;
    const exp = await w.experiments.get.query({ id: l.experimentId });
    expect(exp.progress?.step).toBe(1);
    await w.workers.complete.mutate({
      workerId: a.workerId,
      experimentId: l.experimentId,
      leaseToken: l.leaseToken,
      outcome: okOutcome(1),
    });
  });

  it('accepts a result only with the live token, and records it once however often it is sent', async () => {
    t = await startCoordinator();
    // A lab's trusted worker: its lone baseline counts (and is listed) at once.
    const w = createClient(t.url, await workerToken(t, 'w', true));
    const a = await w.workers.register.mutate({ name: 'a', profile });
    const l = (await w.workers.lease.mutate({ workerId: a.workerId, waitMs: 0 })).lease!;
    const base = { workerId: a.workerId, experimentId: l.experimentId, outcome: okOutcome(1) };
    expect(await codeOf(w.workers.complete.mutate({ ...base, leaseToken: 'f'.repeat(48) }))).toBe(
      ErrorCodes.LEASE_LOST,
    );
    expect(
      await codeOf(
        w.workers.complete.mutate({ ...base, experimentId: 'enosuchexperiment', leaseToken: l.leaseToken }),
      ),
    ).toBe(ErrorCodes.EXPERIMENT_UNKNOWN);
    expect(
      await codeOf(w.workers.heartbeat.mutate({ ...base, leaseToken: 'e'.repeat(48), progress: null })),
    ).toBe(ErrorCodes.LEASE_LOST);
    await w.workers.complete.mutate({ ...base, leaseToken: l.leaseToken });
    // A retry of the same completion (its answer was lost) is answered, and changes nothing.
    await w.workers.complete.mutate({ ...base, leaseToken: l.leaseToken, outcome: okOutcome(2) });
    const rows = await w.results.query({ track: 'standin' });
    expect(rows).toHaveLength(1);
    expect(await codeOf(w.workers.lease.mutate({ workerId: 'wnosuchworker', waitMs: 0 }))).toBe(
      ErrorCodes.WORKER_UNKNOWN,
    );
  });

  it('puts a released job back in the queue', async () => {
    t = await startCoordinator();
    const w = createClient(t.url, await workerToken(t));
    const a = await w.workers.register.mutate({ name: 'a', profile });
    const l = (await w.workers.lease.mutate({ workerId: a.workerId, waitMs: 0 })).lease!;
    await w.workers.release.mutate({
      workerId: a.workerId,
      experimentId: l.experimentId,
      leaseToken: l.leaseToken,
      reason: 'x',
    });
    const again = (await w.workers.lease.mutate({ workerId: a.workerId, waitMs: 2_000 })).lease;
    expect(again?.experimentId).toBe(l.experimentId);
  });
});

describe('auth', () => {
  it('refuses calls without a token, with an unknown token, or with the wrong role', async () => {
    t = await startCoordinator();
    const anon = createClient(t.url, '');
    expect(await codeOf(anon.tracks.list.query())).toBe(ErrorCodes.UNAUTHENTICATED);
    expect(await codeOf(createClient(t.url, 'rt_worker_madeup').tracks.list.query())).toBe(
      ErrorCodes.UNAUTHENTICATED,
    );
    const worker = createClient(t.url, await workerToken(t));
    const proposer = createClient(
      t.url,
      (await t.admin.tokens.create.mutate({ role: 'proposer', name: 'p' })).token,
    );
    expect(await codeOf(worker.tokens.create.mutate({ role: 'admin', name: 'x' }))).toBe(
      ErrorCodes.FORBIDDEN,
    );
    expect(
      await codeOf(
        worker.proposals.submit.mutate({
          track: 'standin',
          patch: qualityPatch('1.000000', '0.9'),
          description: 'x',
        }),
      ),
    ).toBe(ErrorCodes.FORBIDDEN);
    expect(await codeOf(proposer.workers.register.mutate({ name: 'p', profile }))).toBe(ErrorCodes.FORBIDDEN);
    expect((await fetch(`${t.url}/tracks/standin/results.tsv`)).status).toBe(401);
    expect((await fetch(`${t.url}/git/frontier.git/info/refs?service=git-upload-pack`)).status).toBe(401);
    const push = await fetch(`${t.url}/git/frontier.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Bearer ${t.c.adminToken}` },
    });
    expect(push.status).toBe(403);
  });
});

describe('proposals', () => {
  it('refuses bad input with stable codes and queues nothing', async () => {
    t = await startCoordinator();
    const p = t.admin.proposals;
    const submit = (patch: string, track = 'standin') => p.submit.mutate({ track, patch, description: 'x' });
    expect(await codeOf(submit('not a diff'))).toBe(ErrorCodes.PATCH_NOT_A_DIFF);
    expect(await codeOf(submit(qualityPatch('1.000000', '0.9').replaceAll('train.py', 'prepare.py')))).toBe(
      ErrorCodes.PATCH_OUTSIDE_EDITABLE,
    );
    expect(await codeOf(submit(qualityPatch('7.000000', '0.9')))).toBe(ErrorCodes.PATCH_DOES_NOT_APPLY);
    expect(await codeOf(submit(qualityPatch('1.000000', '0.9'), 'nosuchtrack'))).toBe(
      ErrorCodes.TRACK_UNKNOWN,
    );
    expect(await codeOf(p.submit.mutate({ track: 'standin', patch: '', description: 'x' }))).toBe(
      ErrorCodes.BAD_INPUT,
    );
    expect(
      await codeOf(
        p.submit.mutate({
          track: 'standin',
          base: 'a'.repeat(40),
          patch: qualityPatch('1.000000', '0.9'),
          description: 'x',
        }),
      ),
    ).toBe(ErrorCodes.COMMIT_UNKNOWN);
    expect(await p.list.query({ track: 'standin' })).toEqual([]);
    const first = await submit(qualityPatch('1.000000', '0.9'));
    const second = await submit(qualityPatch('1.000000', '0.9'));
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.proposal.id).toBe(first.proposal.id);
    expect(await p.list.query({ track: 'standin' })).toHaveLength(1);
  });
});
