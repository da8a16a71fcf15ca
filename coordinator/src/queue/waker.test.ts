/** The shared waker over a real Redis: local wakes, wakes across replicas, sweeps, aborts. */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../../test/support/harness.ts';
import { createRedis } from '../store/redis.ts';
import { createWaker, type Waker } from './waker.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const open: { w: Waker; r: ReturnType<typeof createRedis> }[] = [];
function waker(channel: string, ready: (n: string[]) => Promise<Record<string, number>> = async () => ({})) {
  const r = createRedis(url);
  const w = createWaker({ redis: r, channel, ready, sweepMs: 60_000 });
  open.push({ w, r });
  return w;
}
afterEach(() => {
  for (const { w, r } of open.splice(0)) {
    w.close();
    r.disconnect();
  }
});

const LONG = 30_000;
/** Which of these promises have settled, without waiting for the others. */
async function settled(ps: Promise<unknown>[]): Promise<boolean[]> {
  const flags = ps.map(() => false);
  ps.forEach((p, i) => void p.then(() => (flags[i] = true)));
  await new Promise((r) => setTimeout(r, 20));
  return flags;
}

describe('waker', () => {
  it('wakes one waiter of the queue per notification, first come first served', async () => {
    const w = waker(uniquePrefix('wake'));
    const v = w.version();
    const a = w.wait(['q1'], LONG, undefined, v);
    const b = w.wait(['q1', 'q2'], LONG, undefined, v);
    const c = w.wait(['q2'], LONG, undefined, v);
    w.notify('q1');
    expect(await settled([a, b, c])).toEqual([true, false, false]);
    w.notify('q2');
    expect(await settled([a, b, c])).toEqual([true, true, false]);
    w.notify('q2');
    expect(await settled([a, b, c])).toEqual([true, true, true]);
    expect(w.waiting()).toBe(0);
  });

  it('returns at once when work arrived between reading the version and waiting', async () => {
    const w = waker(uniquePrefix('wake'));
    const v = w.version();
    w.notify('q1');
    expect(await settled([w.wait(['q1'], LONG, undefined, v)])).toEqual([true]);
  });

  it('wakes a waiter on another replica through Redis', async () => {
    const channel = uniquePrefix('wake');
    const here = waker(channel);
    const there = waker(channel);
    const p = there.wait(['q1'], LONG, undefined, there.version());
    // Let the other replica's subscription reach Redis.
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    here.notify('q1');
    await p;
    expect(Date.now() - started).toBeLessThan(LONG / 2);
  });

  it('sweeps the queues that have waiters and wakes as many as have jobs', async () => {
    const asked: string[][] = [];
    const r = createRedis(url);
    const w = createWaker({
      redis: r,
      channel: uniquePrefix('wake'),
      sweepMs: 50,
      ready: async (names) => {
        asked.push(names);
        return { q1: 1, q2: 0 };
      },
    });
    open.push({ w, r });
    const v = w.version();
    const a = w.wait(['q1'], LONG, undefined, v);
    const b = w.wait(['q1'], LONG, undefined, v);
    const c = w.wait(['q2'], LONG, undefined, v);
    await a;
    expect(await settled([a, b, c])).toEqual([true, false, false]);
    // One call per sweep, whatever the number of waiters.
    expect(asked[0]!.sort()).toEqual(['q1', 'q2']);
  });

  it('ends a wait on abort and leaves no listener behind', async () => {
    const w = waker(uniquePrefix('wake'));
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) await w.wait(['q1'], 1, ac.signal, w.version());
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const p = w.wait(['q1'], LONG, ac.signal, w.version());
    ac.abort();
    await p;
    expect(w.waiting()).toBe(0);
  });

  it('remembers queues seen empty until a wake, and only for a while', async () => {
    const r = createRedis(url);
    const w = createWaker({ redis: r, channel: uniquePrefix('wake'), sweepMs: 100, ready: async () => ({}) });
    open.push({ w, r });
    const v = w.version();
    expect(w.knownEmpty(['q1', 'q2'], v)).toBe(false);
    w.markEmpty(['q1', 'q2'], v);
    expect(w.knownEmpty(['q1', 'q2'], v)).toBe(true);
    expect(w.knownEmpty(['q1', 'q3'], v)).toBe(false);
    // A look that began before a wake proves nothing.
    w.notify('q9');
    expect(w.knownEmpty(['q1'], w.version())).toBe(false);
    w.markEmpty(['q1'], v);
    expect(w.knownEmpty(['q1'], w.version())).toBe(false);
    w.markEmpty(['q1'], w.version());
    expect(w.knownEmpty(['q1'], w.version())).toBe(true);
    await new Promise((res) => setTimeout(res, 250));
    expect(w.knownEmpty(['q1'], w.version())).toBe(false);
  });
});
