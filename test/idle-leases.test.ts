/**
 * Idle long polls cost the coordinator and Redis the same whatever their number, and a job
 * added to an empty queue goes to a waiting lease at once (real coordinator, HTTP, Redis).
 */
import { createClient } from '@ratchet/worker';
import { afterEach, expect, it } from 'vitest';
import { newExperiment } from '../coordinator/src/proposals/proposals.ts';
import { generalQueueName, Priority } from '../coordinator/src/queue/queues.ts';
import { startCoordinator, TEST_CPU_PROFILE, type TestCoordinator } from './support/harness.ts';
import { monitorPrefix } from './support/redis-monitor.ts';

const profile = TEST_CPU_PROFILE;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

async function workers(tc: TestCoordinator, n: number) {
  const { token } = await tc.admin.tokens.create.mutate({ role: 'worker', name: 'idle' });
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const client = createClient(tc.url, token);
      const { workerId } = await client.workers.register.mutate({ name: `w${i}`, profile, tracks: [] });
      return { client, workerId };
    }),
  );
}

/** Redis commands naming this coordinator's keys, over ms. */
async function commandsDuring(prefix: string, ms: number): Promise<number> {
  const m = await monitorPrefix(prefix);
  await sleep(ms);
  m.close();
  return m.count();
}

it('idle long polls cost Redis the same for 1 and 40 workers; an added job wakes one at once', async () => {
  t = await startCoordinator();
  const ws = await workers(t, 40);
  // Take the baseline jobs the first lease queues, so that every queue is empty.
  while ((await ws[0]!.client.workers.lease.mutate({ workerId: ws[0]!.workerId, waitMs: 0 })).lease);

  const idle = async (n: number) => {
    const polls = ws
      .slice(0, n)
      .map((w) => w.client.workers.lease.mutate({ workerId: w.workerId, waitMs: 4_000 }));
    await sleep(500);
    const cmds = await commandsDuring(t!.prefix, 2_000);
    const leases = await Promise.all(polls);
    expect(leases.every((l) => l.lease === null)).toBe(true);
    return cmds;
  };
  const one = await idle(1);
  const forty = await idle(40);
  // Polling each lease on its own every 200 ms cost about 40 × 10 × 3 commands here.
  expect(forty).toBeLessThanOrEqual(one + 10);

  const waiting = ws[1]!.client.workers.lease.mutate({ workerId: ws[1]!.workerId, waitMs: 20_000 });
  await sleep(300);
  const exp = newExperiment(t.c.deps, {
    track: 'standin',
    kind: 'baseline',
    proposalId: null,
    base: (await t.c.deps.store.requireTrack('standin')).head,
    hardwareClass: null,
  });
  await t.c.deps.store.putExperiment(exp);
  const added = Date.now();
  await t.c.deps.queues.add(generalQueueName('standin'), { experimentId: exp.id }, Priority.candidate);
  const got = await waiting;
  expect(got.lease?.experimentId).toBe(exp.id);
  // Woken by the add, not by the once-a-second sweep or the end of the wait.
  expect(Date.now() - added).toBeLessThan(900);
});
