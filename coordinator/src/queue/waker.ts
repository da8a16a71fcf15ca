/**
 * Waiting leases sleep here until work may be there, instead of each polling Redis every
 * 200 ms (a thousand idle workers cost 50,000 Redis commands/s and most of a core).
 *
 * - A job added or put back through this process wakes one waiter of its queue at once, and
 *   is announced on a Redis channel so that other coordinator replicas wake one of theirs.
 * - One sweep per process, while anyone waits, counts the jobs of the queues that have
 *   waiters (one command per queue) and wakes as many waiters as there are jobs: that covers
 *   stalled jobs that went back and delayed jobs that came due, and a missed announcement.
 *   Its cost depends on the number of queues, not of workers.
 * - `version()` changes with every wake; a lease reads it before it looks at the queues,
 *   and a wait that starts after a change returns at once, so no wake-up falls in between.
 * - Queues seen empty (by a take that found nothing, or by the sweep) are remembered with the
 *   version they were seen at, for two sweep intervals or until the next sweep: a lease that renews its long poll on
 *   queues known empty skips the take (a script per queue, 7 commands each) and waits. Any
 *   wake forgets them; jobs that come back without a wake (stalled, delayed come due) are
 *   what the sweep finds, within the same interval a waiting lease would.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface WakerOptions {
  redis: Redis;
  channel: string;
  /** Jobs that may be taken now (or soon) per queue name. */
  ready(names: string[]): Promise<Record<string, number>>;
  sweepMs?: number;
}

interface Waiter {
  wake(): void;
}

export type Waker = ReturnType<typeof createWaker>;

export function createWaker(o: WakerOptions) {
  const self = randomUUID();
  const sweepMs = o.sweepMs ?? 1_000;
  const waiters = new Map<string, Set<Waiter>>();
  let version = 0;
  /** When the latest sweep began: a queue seen empty since then is still empty until it runs again. */
  let lastSweepAt = 0;
  /** Queue name → when (and at which version) it was last seen empty. */
  const empty = new Map<string, { version: number; at: number }>();
  let sub: Redis | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  function wakeLocal(queue: string, n: number) {
    version++;
    const set = waiters.get(queue);
    if (!set) return;
    for (const w of [...set]) {
      if (n-- <= 0) break;
      w.wake();
    }
  }

  function subscribe() {
    if (sub || closed) return;
    sub = o.redis.duplicate();
    sub.on('error', () => {});
    sub.on('message', (_channel: string, msg: string) => {
      const at = msg.indexOf(' ');
      if (at > 0 && msg.slice(0, at) !== self) wakeLocal(msg.slice(at + 1), 1);
    });
    void sub.subscribe(o.channel).catch(() => {});
  }

  async function sweep() {
    timer = null;
    lastSweepAt = Date.now();
    const names = [...waiters.keys()];
    if (names.length === 0 || closed) return;
    try {
      const seenAt = version;
      const ready = await o.ready(names);
      markEmpty(
        Object.keys(ready).filter((name) => ready[name] === 0),
        seenAt,
      );
      for (const [name, n] of Object.entries(ready)) if (n > 0) wakeLocal(name, n);
    } catch {
      // Redis away: the waits run out on their own and the leases report it.
    }
    schedule();
  }

  function markEmpty(names: string[], since: number) {
    if (since !== version) return;
    const at = Date.now();
    for (const n of names) empty.set(n, { version: since, at });
  }

  function schedule() {
    if (!timer && !closed && waiters.size > 0) {
      timer = setTimeout(() => void sweep(), sweepMs);
      timer.unref();
    }
  }

  return {
    version: () => version,
    /** These queues were found empty by a look that began at version `since`. */
    markEmpty,
    /** Every one of these queues was seen empty lately, and nothing woke since `since`. */
    knownEmpty(names: string[], since: number): boolean {
      if (since !== version || names.length === 0) return false;
      const now = Date.now();
      return names.every((n) => {
        const m = empty.get(n);
        if (m === undefined || m.version !== version) return false;
        // Fresh, or seen since the latest sweep while the next one is due: a busy process
        // runs its sweeps late, and the sweep is what would find jobs that came back.
        return now - m.at < 2 * sweepMs || (timer !== null && m.at >= lastSweepAt);
      });
    },
    /** Work was added to (or put back on) this queue: wake `n` waiters here and elsewhere. */
    notify(queue: string, n = 1) {
      wakeLocal(queue, n);
      void o.redis.publish(o.channel, `${self} ${queue}`).catch(() => {});
    },
    /** Resolves when one of these queues may have work, after ms, or on abort. */
    wait(names: string[], ms: number, signal: AbortSignal | undefined, since: number): Promise<void> {
      if (since !== version || signal?.aborted || closed || ms <= 0) return Promise.resolve();
      subscribe();
      return new Promise<void>((resolve) => {
        const w: Waiter = { wake: done };
        const t = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        for (const n of names) {
          const set = waiters.get(n) ?? new Set<Waiter>();
          waiters.set(n, set);
          set.add(w);
        }
        schedule();
        function done() {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          for (const n of names) {
            const set = waiters.get(n);
            set?.delete(w);
            if (set?.size === 0) waiters.delete(n);
          }
          resolve();
        }
      });
    },
    waiting(): number {
      const all = new Set<Waiter>();
      for (const set of waiters.values()) for (const w of set) all.add(w);
      return all.size;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const set of [...waiters.values()]) for (const w of [...set]) w.wake();
      sub?.disconnect();
      sub = null;
    },
  };
}
