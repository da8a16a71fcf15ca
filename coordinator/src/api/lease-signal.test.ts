/** A lease call leaves nothing behind on the coordinator's lifetime signal. */
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinator, TEST_CPU_PROFILE, type TestCoordinator } from '../../../test/support/harness.ts';
import { createAuth } from '../auth/tokens.ts';
import { createMergeTrain } from '../merge/merge-train.ts';
import { attachedTo, linkSignals } from './linked-signal.ts';
import { appRouter } from './router.ts';

const profile = TEST_CPU_PROFILE;

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('linkSignals', () => {
  it('aborts with either source and detaches from both when disposed', () => {
    const a = new AbortController();
    const b = new AbortController();
    for (let i = 0; i < 1000; i++) linkSignals(a.signal, b.signal).dispose();
    expect(attachedTo(a.signal)).toBe(0);
    expect(attachedTo(b.signal)).toBe(0);
    const l = linkSignals(a.signal, b.signal);
    b.abort();
    expect(l.signal.aborted).toBe(true);
    expect(attachedTo(a.signal)).toBe(0);
    expect(linkSignals(a.signal, b.signal).signal.aborted).toBe(true);
  });

  it('sees signals derived with AbortSignal.any (what a leak looks like)', () => {
    const a = new AbortController();
    const keep = [AbortSignal.any([a.signal]), AbortSignal.any([a.signal])];
    expect(attachedTo(a.signal)).toBe(keep.length);
  });
});

describe('workers.lease', () => {
  it('leaves no listener or derived signal on the lifetime signal after many calls', async () => {
    t = await startCoordinator();
    const lifetime = new AbortController();
    const deps = t.c.deps;
    const ctx = {
      principal: { role: 'worker' as const, name: 'w', trusted: false },
      deps,
      auth: createAuth(deps.store, null),
      merge: createMergeTrain(deps),
      signal: lifetime.signal,
    };
    const request = new AbortController();
    const caller = appRouter.createCaller(ctx, { signal: request.signal });
    const { workerId } = await caller.workers.register({ name: 'w', profile, tracks: [] });
    for (let i = 0; i < 200; i++) await caller.workers.lease({ workerId, waitMs: 0 });
    expect(attachedTo(lifetime.signal)).toBe(0);
    expect(attachedTo(request.signal)).toBe(0);

    // The lifetime signal still ends a waiting long poll at once.
    const drained = await (async () => {
      for (;;) if (!(await caller.workers.lease({ workerId, waitMs: 0 })).lease) return true;
    })();
    expect(drained).toBe(true);
    const started = Date.now();
    const waiting = caller.workers.lease({ workerId, waitMs: 10_000 });
    setTimeout(() => lifetime.abort(), 100);
    expect((await waiting).lease).toBeNull();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
