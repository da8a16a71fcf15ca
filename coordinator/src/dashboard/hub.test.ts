import type { DashSnapshot } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { createDashboardHub, type Subscriber } from './hub.ts';

function snapshot(at: number, depth: number): DashSnapshot {
  return {
    at,
    tracks: [],
    workers: [],
    queue: { depths: { 'eval.t': depth }, next: [], batches: [] },
    leaderboard: [],
    portability: [],
    experiments: [],
  };
}

function sub(bufferedBytes = 0) {
  const chunks: string[] = [];
  let closed = false;
  const s: Subscriber = {
    write: (c) => {
      chunks.push(c);
      return true;
    },
    buffered: () => bufferedBytes,
    close: () => {
      closed = true;
    },
  };
  return { s, chunks, closed: () => closed };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the dashboard hub', () => {
  it('reads one snapshot per tick however many watch, and sends every viewer the same diff', async () => {
    let reads = 0;
    const hub = createDashboardHub({
      intervalMs: 40,
      snapshot: async () => {
        reads++;
        return snapshot(reads, reads < 3 ? 1 : 2);
      },
    });
    const viewers = Array.from({ length: 50 }, () => sub());
    const offs = viewers.map((v) => hub.subscribe(v.s));
    for (let i = 0; i < 250 && hub.stats.ticks < 4; i++) await wait(20);
    expect(hub.stats.ticks).toBeGreaterThanOrEqual(4);
    expect(reads).toBe(hub.stats.ticks);
    for (const v of viewers) {
      const data = v.chunks.filter((c) => c.startsWith('data:'));
      expect(JSON.parse(data[0]!.slice(5)).type).toBe('snapshot');
      // Only the change from depth 1 to 2 is sent; quiet ticks send nothing.
      expect(data.slice(1)).toEqual([viewers[0]!.chunks.filter((c) => c.startsWith('data:'))[1]]);
      expect(JSON.parse(data[1]!.slice(5))).toMatchObject({
        type: 'diff',
        queue: { depths: { 'eval.t': 2 } },
      });
    }
    for (const off of offs) off();
    const after = hub.stats.ticks;
    await wait(150);
    expect(hub.stats.ticks).toBeLessThanOrEqual(after + 1);
    await hub.close();
  });

  it('gives a late viewer the latest snapshot, then the diffs after it', async () => {
    let depth = 1;
    const hub = createDashboardHub({ intervalMs: 30, snapshot: async () => snapshot(Date.now(), depth) });
    const a = sub();
    hub.subscribe(a.s);
    await wait(80);
    depth = 5;
    await wait(80);
    const b = sub();
    hub.subscribe(b.s);
    const first = JSON.parse(b.chunks[0]!.slice(5));
    expect(first.type).toBe('snapshot');
    expect(first.data.queue.depths['eval.t']).toBe(5);
    await hub.close();
    expect(a.closed() && b.closed()).toBe(true);
  });

  it('drops a viewer whose socket does not drain', async () => {
    const hub = createDashboardHub({
      intervalMs: 20,
      maxBufferedBytes: 1000,
      snapshot: async () => snapshot(Date.now(), 1),
    });
    const slow = sub(5000);
    const ok = sub(0);
    hub.subscribe(slow.s);
    hub.subscribe(ok.s);
    await wait(60);
    expect(slow.closed()).toBe(true);
    expect(ok.closed()).toBe(false);
    expect(hub.viewers()).toBe(1);
    await hub.close();
  });
});
