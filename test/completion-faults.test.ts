/**
 * Crashes of the coordinator in the middle of the worker protocol, with real Redis and real
 * BullMQ: a coordinator stopped at a named step of `complete` (as kill -9 would stop it,
 * leaving Redis as it was) and a new one started on the same Redis prefix and data dir.
 * Also: infrastructure give-backs and the attempt limit end a job instead of looping.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, createCoordinator, loadConfig } from '@ratchet/coordinator';
import { ErrorCodes, type Lease } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { lockMs } from '../coordinator/src/queue/queues.ts';
import { cleanRedis, qualityPatch, STANDIN_TRACK, uniquePrefix, waitFor } from './support/harness.ts';
import { okOutcome, SIM_PROFILE } from './support/sim-worker.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Coordinators started on one prefix and data dir, one after another, as restarts. */
function restartable(ttlMs: number) {
  const prefix = uniquePrefix('crash');
  let dataDir = '';
  const open: Coordinator[] = [];
  return {
    prefix,
    /** `crashAt(step)` arms a crash at the next time that step is reached. */
    async start(): Promise<{
      c: Coordinator;
      url: string;
      crashAt: (step: string) => void;
      crashed: () => boolean;
    }> {
      dataDir ||= await mkdtemp(join(tmpdir(), 'ratchet-crash-'));
      let crashed = false;
      let crashAt: string | null = null;
      const cfg = loadConfig({
        REDIS_URL,
        RATCHET_DATA_DIR: dataDir,
        RATCHET_REDIS_PREFIX: prefix,
        RATCHET_PORT: '0',
        RATCHET_LOG_LEVEL: 'silent',
        RATCHET_TRACKS: STANDIN_TRACK,
        RATCHET_LEASE_TTL_MS: String(ttlMs),
        RATCHET_ADMIN_TOKEN: `ratchet_admin_${'a'.repeat(40)}`,
      });
      const c = await createCoordinator(cfg, {
        // Everything after this step is lost, as in a kill -9 there: the call fails.
        step: (name) => {
          if (name === crashAt && !crashed) {
            crashed = true;
            throw new Error(`crash at ${name}`);
          }
        },
      });
      open.push(c);
      return {
        c,
        url: await c.start(),
        crashAt: (step) => {
          crashAt = step;
        },
        crashed: () => crashed,
      };
    },
    async close() {
      for (const c of open) await c.close().catch(() => {});
      await cleanRedis(prefix);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let env: ReturnType<typeof restartable> | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

async function setUp(url: string, adminToken: string) {
  const admin = createClient(url, adminToken);
  const { token } = await admin.tokens.create.mutate({ role: 'worker', name: 'w' });
  return { admin, token };
}

/** A worker that runs every baseline at once and stops at the first candidate lease. */
async function candidateLease(url: string, token: string, name = 'w') {
  const w = createClient(url, token);
  const { workerId } = await w.workers.register.mutate({ name, profile: SIM_PROFILE, tracks: [] });
  for (;;) {
    const l = (await w.workers.lease.mutate({ workerId, waitMs: 2_000 })).lease;
    if (!l) throw new Error('no candidate to lease');
    if (l.kind === 'candidate') return { w, workerId, lease: l };
    await w.workers.complete.mutate({
      workerId,
      experimentId: l.experimentId,
      leaseToken: l.leaseToken,
      outcome: okOutcome(1),
    });
  }
}

/** Complete as a worker does: a retryable refusal (the result is being recorded) is asked again. */
async function completeRetrying(
  w: ReturnType<typeof createClient>,
  input: Parameters<typeof w.workers.complete.mutate>[0],
) {
  for (let i = 0; ; i++) {
    try {
      return await w.workers.complete.mutate(input);
    } catch (e) {
      const code = (e as { data?: { ratchetCode?: string } }).data?.ratchetCode;
      if (code !== ErrorCodes.COMPLETION_BUSY || i > 100) throw e;
      await sleep(200);
    }
  }
}

function ref(workerId: string, l: Lease) {
  return { workerId, experimentId: l.experimentId, leaseToken: l.leaseToken };
}

/**
 * A candidate leased and finished on a coordinator that is killed at `step` of its
 * complete(); the completion call fails, and a second coordinator starts on the same state.
 */
async function crashInsideComplete(ttlMs: number, step: string) {
  env = restartable(ttlMs);
  const one = await env.start();
  const { admin, token } = await setUp(one.url, one.c.adminToken);
  const p = await admin.proposals.submit.mutate({
    track: 'standin',
    patch: qualityPatch('1.000000', '0.900000'),
    description: 'x',
  });
  const { w, workerId, lease } = await candidateLease(one.url, token);
  const done = { ...ref(workerId, lease), outcome: okOutcome(0.9) };
  one.crashAt(step);
  await expect(w.workers.complete.mutate(done)).rejects.toThrow();
  expect(one.crashed()).toBe(true);
  await one.c.close();
  return { p, token, lease, done, two: await env.start() };
}

describe('a coordinator that dies inside complete()', () => {
  it('records the result once when the worker retries after the restart', async () => {
    const { p, token, lease, done, two } = await crashInsideComplete(3_000, 'complete:job-finished');
    const w2 = createClient(two.url, token);
    await completeRetrying(w2, done);
    await completeRetrying(w2, done);
    const exp = await createClient(two.url, two.c.adminToken).experiments.get.query({
      id: lease.experimentId,
    });
    expect(exp.status).toBe('ok');
    expect(exp.metrics?.val_bpb).toBe(0.9);
    const proposal = await createClient(two.url, two.c.adminToken).proposals.get.query({ id: p.proposal.id });
    expect(proposal.status).not.toBe('running');
    expect(proposal.status).not.toBe('queued');
    // Recorded once: one run of the proposal, and nothing of it left to lease.
    expect(proposal.experimentIds.filter((id) => id === lease.experimentId)).toHaveLength(1);
    const again = (await w2.workers.lease.mutate({ workerId: done.workerId, waitMs: 0 })).lease;
    expect(again?.experimentId).not.toBe(lease.experimentId);
  }, 60_000);

  it('records an accepted result at the restart even when the worker never retries', async () => {
    const { p, lease, two } = await crashInsideComplete(2_000, 'complete:accepted');
    const admin2 = createClient(two.url, two.c.adminToken);
    const exp = await waitFor(
      async () => {
        const e = await admin2.experiments.get.query({ id: lease.experimentId });
        return e.status !== 'running' ? e : null;
      },
      20_000,
      'the accepted result to be recorded',
    );
    expect(exp.status).toBe('ok');
    expect(exp.metrics?.val_bpb).toBe(0.9);
    await waitFor(
      async () => (await admin2.proposals.get.query({ id: p.proposal.id })).status !== 'running',
      10_000,
      'the proposal to be judged',
    );
  }, 60_000);

  it('hands a recorded run to its proposal after a crash between recording and judging it', async () => {
    const { p, two } = await crashInsideComplete(2_000, 'record:written');
    const admin2 = createClient(two.url, two.c.adminToken);
    const moved = await waitFor(
      async () => {
        const q = await admin2.proposals.get.query({ id: p.proposal.id });
        return q.status !== 'running' ? q : null;
      },
      20_000,
      'the proposal to be judged',
    );
    // A gain of 0.1 on a noiseless stand-in: its screen passes and a confirmation is due.
    expect(['confirming', 'merged', 'awaiting_baseline', 'reverify']).toContain(moved.status);
  }, 60_000);

  it('puts a running experiment whose lease and job are gone back in the queue at the restart', async () => {
    env = restartable(3_000);
    const one = await env.start();
    const { admin, token } = await setUp(one.url, one.c.adminToken);
    await admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.900000'),
      description: 'x',
    });
    const { lease } = await candidateLease(one.url, token);
    await one.c.close();
    // What an outage or a crash between BullMQ's step and ours can leave: a running
    // experiment with neither its lease nor its job.
    const r = new Redis(REDIS_URL);
    try {
      const keys = await r.keys(`${env.prefix}:bull:*`);
      const jobKeys = keys.filter((k) => /:\d+(:lock)?$/.test(k));
      for (const k of [...jobKeys, `${env.prefix}:lease:${lease.experimentId}`]) await r.del(k);
      for (const k of keys.filter((k) => k.endsWith(':active'))) await r.del(k);
    } finally {
      r.disconnect();
    }

    const two = await env.start();
    const exp = await createClient(two.url, two.c.adminToken).experiments.get.query({
      id: lease.experimentId,
    });
    expect(exp.status).toBe('queued');
    const w = createClient(two.url, token);
    const { workerId } = await w.workers.register.mutate({ name: 'w2', profile: SIM_PROFILE, tracks: [] });
    const l = (await w.workers.lease.mutate({ workerId, waitMs: 2_000 })).lease;
    expect(l?.experimentId).toBe(lease.experimentId);
  }, 60_000);
});

describe('a recording repeated after a crash', () => {
  it('counts a baseline run once in the noise estimate', async () => {
    env = restartable(3_000);
    const one = await env.start();
    const sample = { valBpb: 1, steps: 5, tokensM: null, experimentId: 'ebaselineonce', peakVramMb: null };
    await one.c.deps.store.addBaselineSample('standin', 'a'.repeat(40), 'cls', sample);
    await one.c.deps.store.addBaselineSample('standin', 'a'.repeat(40), 'cls', sample);
    expect(await one.c.deps.store.getBaselineSamples('standin', 'a'.repeat(40), 'cls')).toHaveLength(1);
    expect(await one.c.deps.store.baselineGroups('standin', 'cls')).toEqual([[1]]);
  });
});

describe('a coordinator restart', () => {
  it('keeps a lease whose lock lapsed while it was down: the result is taken, the run not repeated', async () => {
    env = restartable(2_000);
    const one = await env.start();
    const { admin, token } = await setUp(one.url, one.c.adminToken);
    await admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.900000'),
      description: 'x',
    });
    const { workerId, lease } = await candidateLease(one.url, token);
    await one.c.close();
    // Down for longer than the job's lock lasts, shorter than the lease TTL plus a heartbeat.
    await sleep(2_200);

    const two = await env.start();
    const w = createClient(two.url, token);
    await w.workers.heartbeat.mutate({ ...ref(workerId, lease), progress: null });
    const other = createClient(two.url, token);
    const b = await other.workers.register.mutate({ name: 'other', profile: SIM_PROFILE, tracks: [] });
    const stolen = (await other.workers.lease.mutate({ workerId: b.workerId, waitMs: 0 })).lease;
    expect(stolen?.experimentId).not.toBe(lease.experimentId);
    await w.workers.complete.mutate({ ...ref(workerId, lease), outcome: okOutcome(0.9) });
    const exp = await createClient(two.url, two.c.adminToken).experiments.get.query({
      id: lease.experimentId,
    });
    expect(exp.status).toBe('ok');
    expect(exp.attempts).toBe(1);
  }, 60_000);
});

describe('jobs that cannot finish', () => {
  it('ends a job given back for infrastructure reasons three times with an error verdict', async () => {
    env = restartable(3_000);
    const one = await env.start();
    const { admin, token } = await setUp(one.url, one.c.adminToken);
    const p = await admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.900000'),
      description: 'x',
    });
    const first = await candidateLease(one.url, token);
    let l: Lease | null = first.lease;
    for (let i = 0; i < 3; i++) {
      expect(l?.experimentId).toBe(first.lease.experimentId);
      await first.w.workers.release.mutate({
        ...ref(first.workerId, l!),
        reason: "infrastructure: checkout: Couldn't connect",
      });
      l = (await first.w.workers.lease.mutate({ workerId: first.workerId, waitMs: 300 })).lease;
    }
    expect(l).toBeNull();
    const exp = await admin.experiments.get.query({ id: first.lease.experimentId });
    expect(exp.verdict).toBe('error');
    expect(exp.crash).toBeNull();
    const proposal = await admin.proposals.get.query({ id: p.proposal.id });
    expect(proposal.status).toBe('error');
  }, 60_000);

  it('stops a job whose leases keep expiring after its attempt limit, and not one handed back in order', async () => {
    env = restartable(1_000);
    const one = await env.start();
    const { admin, token } = await setUp(one.url, one.c.adminToken);
    const p = await admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.900000'),
      description: 'x',
    });
    const first = await candidateLease(one.url, token);
    // Handed back in good order: does not count.
    await first.w.workers.release.mutate({ ...ref(first.workerId, first.lease), reason: 'worker stopping' });
    let l: Lease | null = (await first.w.workers.lease.mutate({ workerId: first.workerId, waitMs: 2_000 }))
      .lease;
    let leases = 0;
    // A worker that never reports: each lease expires and the job comes back.
    while (l && leases < 20) {
      expect(l.experimentId).toBe(first.lease.experimentId);
      leases++;
      l = (await first.w.workers.lease.mutate({ workerId: first.workerId, waitMs: 3_000 })).lease;
    }
    expect(leases).toBe(5);
    const proposal = await admin.proposals.get.query({ id: p.proposal.id });
    expect(proposal.status).toBe('error');
  }, 90_000);
});

describe('re-lease after a worker dies', () => {
  it('puts a job back within the lease TTL for every configured TTL', () => {
    for (const ttl of [1_000, 2_000, 5_000, 60_000, 600_000]) {
      const cfg = loadConfig({ RATCHET_LEASE_TTL_MS: String(ttl) });
      // Back in the queue at the first stalled check after the lock lapses.
      expect(lockMs(cfg.leaseTtlMs, cfg.stalledIntervalMs) + cfg.stalledIntervalMs).toBeLessThanOrEqual(ttl);
      // At least two heartbeats per lock.
      expect(lockMs(cfg.leaseTtlMs, cfg.stalledIntervalMs)).toBeGreaterThanOrEqual(
        2 * cfg.heartbeatIntervalMs,
      );
    }
  });
});
