/**
 * The coordinator on a real three-node Redis Cluster: register, lease, complete over HTTP,
 * with its keys (store and BullMQ) under one hash-tagged prefix.
 */
import { execFileSync } from 'node:child_process';
import { createClient } from '@ratchet/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCoordinator, type TestCoordinator } from './support/harness.ts';
import { type LocalCluster, startCluster } from './support/redis-cluster.ts';
import { okOutcome, SIM_PROFILE } from './support/sim-worker.ts';

let cluster: LocalCluster;
let t: TestCoordinator | null = null;
beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);
afterAll(async () => {
  await t?.close();
  await cluster?.close();
});

it('leases and completes through a Redis Cluster with a hash-tagged prefix', async () => {
  const prefix = `{rt${process.pid}}`;
  t = await startCoordinator({ REDIS_URL: cluster.url, RATCHET_REDIS_PREFIX: prefix });
  const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'w' });
  const c = createClient(t.url, token);
  const { workerId } = await c.workers.register.mutate({ name: 'w', profile: SIM_PROFILE, tracks: [] });
  const lease = (await c.workers.lease.mutate({ workerId, waitMs: 5_000 })).lease;
  expect(lease?.kind).toBe('baseline');
  await c.workers.heartbeat.mutate({
    workerId,
    experimentId: lease!.experimentId,
    leaseToken: lease!.leaseToken,
    progress: null,
  });
  await c.workers.complete.mutate({
    workerId,
    experimentId: lease!.experimentId,
    leaseToken: lease!.leaseToken,
    outcome: okOutcome(1.0),
  });
  const exp = await t.admin.experiments.get.query({ id: lease!.experimentId });
  expect(exp.status).not.toBe('running');
  expect(exp.recordedAt).not.toBeNull();

  // Every key, BullMQ's included, lives on the one node that owns the prefix's slot.
  const slot = Number(
    execFileSync('redis-cli', ['-p', String(cluster.ports[0]), 'cluster', 'keyslot', prefix], {
      encoding: 'utf8',
    }),
  );
  const counts = cluster.ports.map((p) =>
    Number(execFileSync('redis-cli', ['-p', String(p), 'dbsize'], { encoding: 'utf8' })),
  );
  expect(counts.filter((n) => n > 0)).toHaveLength(1);
  const bullKeys = cluster.ports.flatMap((p) =>
    execFileSync('redis-cli', ['-p', String(p), '--scan', '--pattern', `${prefix}:bull:*`], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean),
  );
  expect(bullKeys.length).toBeGreaterThan(0);
  expect(slot).toBeGreaterThanOrEqual(0);
}, 60_000);
