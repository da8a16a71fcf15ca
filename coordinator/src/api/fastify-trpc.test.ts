/** What a call over HTTP holds on the coordinator while it waits (api/fastify-trpc.ts). */
import { ErrorCodes } from '@ratchet/shared';
import { createClient, errorCode } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startCoordinator,
  TEST_CPU_PROFILE,
  type TestCoordinator,
  waitFor,
} from '../../../test/support/harness.ts';

let t: TestCoordinator | null = null;
const RealRequest = globalThis.Request;
afterEach(async () => {
  globalThis.Request = RealRequest;
  await t?.close();
  t = null;
});

async function idleWorker(tc: TestCoordinator) {
  const { token } = await tc.admin.tokens.create.mutate({ role: 'worker', name: 'w' });
  const w = createClient(tc.url, token);
  const { workerId } = await w.workers.register.mutate({ name: 'w', profile: TEST_CPU_PROFILE, tracks: [] });
  // Empty the queue of the track's baselines, so that a lease waits.
  while ((await w.workers.lease.mutate({ workerId, waitMs: 0 })).lease);
  return { w, workerId };
}

describe('tRPC over Fastify', () => {
  it('builds no Fetch Request for a JSON call, a waiting lease included', async () => {
    t = await startCoordinator();
    const { w, workerId } = await idleWorker(t);
    let built = 0;
    globalThis.Request = class extends RealRequest {
      constructor(...args: ConstructorParameters<typeof Request>) {
        super(...args);
        built++;
      }
    };
    const stop = new AbortController();
    const waiting = w.workers.lease.mutate({ workerId, waitMs: 60_000 }, { signal: stop.signal });
    await waitFor(async () => t!.c.deps.queues.waiting() === 1, 10_000, 'the lease to wait');
    expect(await t.admin.health.query()).toEqual({ ok: true, role: 'admin' });
    stop.abort();
    await waiting.catch(() => {});
    // Every undici Request the adapter would make holds its own signal, headers, URL and body
    // stream for as long as the call waits: thousands of long polls, megabytes of them.
    expect(built).toBe(0);
  });

  it('ends a waiting lease when its client hangs up', async () => {
    t = await startCoordinator();
    const { w, workerId } = await idleWorker(t);
    const queues = t.c.deps.queues;
    for (let i = 0; i < 3; i++) {
      const stop = new AbortController();
      const waiting = w.workers.lease.mutate({ workerId, waitMs: 60_000 }, { signal: stop.signal });
      await waitFor(async () => queues.waiting() === 1, 10_000, 'the lease to wait');
      stop.abort();
      await waiting.catch(() => {});
      await waitFor(async () => queues.waiting() === 0, 10_000, 'the wait to end');
    }
  });

  it('answers errors with the same codes', async () => {
    t = await startCoordinator();
    const anon = createClient(t.url, 'rt_w_nope');
    const refused = await anon.health.query().catch((e: unknown) => e);
    expect(errorCode(refused)).toBe(ErrorCodes.UNAUTHENTICATED);
    expect((refused as { data?: { httpStatus?: number } }).data?.httpStatus).toBe(401);
    const { w } = await idleWorker(t);
    expect(
      errorCode(await w.workers.lease.mutate({ workerId: 'w_missing', waitMs: 0 }).catch((e: unknown) => e)),
    ).toBe(ErrorCodes.WORKER_UNKNOWN);
    expect(
      errorCode(
        await w.workers.lease
          .mutate({ workerId: 'x', waitMs: -1 } as unknown as { workerId: string; waitMs: number })
          .catch((e: unknown) => e),
      ),
    ).toBe(ErrorCodes.BAD_INPUT);
  });
});
