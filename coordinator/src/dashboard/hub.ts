/**
 * One producer for every viewer: while anyone watches, the hub reads one snapshot every
 * `intervalMs`, works out what changed since the last one, serialises that once and writes
 * the same bytes to every subscriber. A hundred viewers cost the coordinator what one
 * costs, plus the socket writes. A viewer that joins gets the latest snapshot, then the
 * diffs that follow it.
 */
import type { DashMessage, DashSnapshot } from '@ratchet/shared';
import { toError } from '@ratchet/shared';
import { diffSnapshots, keysOf, type SnapshotKeys } from './read-model.ts';

export interface Subscriber {
  /** Write one server-sent-events chunk; false when the socket's buffer is full. */
  write(chunk: string): boolean;
  /** Bytes still queued for the socket. */
  buffered(): number;
  close(): void;
}

export interface HubOptions {
  snapshot(): Promise<DashSnapshot>;
  /** Default 500 ms: the page is at most this plus one read behind. */
  intervalMs?: number;
  keepAliveMs?: number;
  /** A viewer with more than this queued (a stalled phone) is dropped; it reconnects. */
  maxBufferedBytes?: number;
  onError?(e: Error): void;
}

export function sseChunk(msg: DashMessage): string {
  return `data: ${JSON.stringify(msg)}\n\n`;
}

export type DashboardHub = ReturnType<typeof createDashboardHub>;

export function createDashboardHub(o: HubOptions) {
  const intervalMs = o.intervalMs ?? 500;
  const maxBuffered = o.maxBufferedBytes ?? 8 * 1024 * 1024;
  const subs = new Map<Subscriber, { needsSnapshot: boolean }>();
  let current: DashSnapshot | null = null;
  let currentKeys: SnapshotKeys | null = null;
  let currentChunk: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let keepAlive: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;
  let closed = false;
  const stats = { ticks: 0, lastTickMs: 0, totalTickMs: 0, bytesSent: 0 };

  const snapshotChunk = () => {
    currentChunk ??= current ? sseChunk({ type: 'snapshot', data: current }) : null;
    return currentChunk;
  };

  function send(s: Subscriber, chunk: string) {
    if (s.buffered() > maxBuffered) {
      drop(s);
      return;
    }
    s.write(chunk);
    stats.bytesSent += chunk.length;
  }

  function drop(s: Subscriber) {
    subs.delete(s);
    try {
      s.close();
    } catch {
      // already gone
    }
  }

  async function tick() {
    const t0 = performance.now();
    const snap = await o.snapshot();
    const keys = keysOf(snap);
    const diff = currentKeys ? diffSnapshots(currentKeys, snap, keys) : null;
    current = snap;
    currentKeys = keys;
    currentChunk = null;
    const diffChunk = diff ? sseChunk(diff) : null;
    for (const [s, st] of subs) {
      if (st.needsSnapshot) {
        st.needsSnapshot = false;
        send(s, snapshotChunk()!);
      } else if (diffChunk) send(s, diffChunk);
    }
    const ms = performance.now() - t0;
    stats.ticks++;
    stats.lastTickMs = ms;
    stats.totalTickMs += ms;
  }

  function schedule(delayMs: number) {
    if (closed || timer || subs.size === 0) return;
    timer = setTimeout(() => {
      timer = null;
      ticking = tick()
        .catch((e) => o.onError?.(toError(e)))
        .finally(() => {
          ticking = null;
          schedule(intervalMs);
        });
    }, delayMs);
  }

  function stopIfIdle() {
    if (subs.size > 0) return;
    if (timer) clearTimeout(timer);
    if (keepAlive) clearInterval(keepAlive);
    timer = null;
    keepAlive = null;
    // Nobody watches: forget the snapshot, so the next viewer never gets a stale one.
    current = null;
    currentKeys = null;
    currentChunk = null;
  }

  return {
    stats,
    subscribe(s: Subscriber): () => void {
      if (closed) {
        s.close();
        return () => {};
      }
      const chunk = ticking ? null : snapshotChunk();
      subs.set(s, { needsSnapshot: chunk === null });
      if (chunk) send(s, chunk);
      keepAlive ??= setInterval(() => {
        for (const sub of subs.keys()) send(sub, ': keep-alive\n\n');
      }, o.keepAliveMs ?? 15_000);
      schedule(chunk ? intervalMs : 0);
      return () => {
        subs.delete(s);
        stopIfIdle();
      };
    },
    viewers: () => subs.size,
    async close() {
      closed = true;
      for (const s of [...subs.keys()]) drop(s);
      stopIfIdle();
      await ticking;
    },
  };
}
