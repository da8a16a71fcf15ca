/**
 * Evaluation queues on BullMQ in manual mode: the coordinator takes jobs on behalf of its
 * HTTP workers (`getNextJob(token)`), extends the lock on each heartbeat and completes the
 * job with the same token. A lease IS the BullMQ lock: a worker that stops heartbeating
 * loses its job back to the queue within the lease TTL (the lock lasts the TTL less one
 * stalled-check interval, see `lockMs`). A lock that lapsed while the coordinator was down
 * is taken again by the lease's owner while the job is still active (`extend`, `relock`).
 *
 * Queue names: `eval.<track>` (any class) and `eval.<track>.<class>` (one class).
 * BullMQ forbids `:` in queue names, so DESIGN.md's `eval:<track>` is spelled with dots.
 */
import { ErrorCodes, RatchetError, toError } from '@ratchet/shared';
import { type ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { RELOCK_JOB } from '../store/scripts.ts';
import { createWaker } from './waker.ts';

export interface QueueConfig {
  connection: ConnectionOptions;
  prefix: string;
  leaseTtlMs: number;
  stalledIntervalMs: number;
  addTimeoutMs?: number;
  /** How often waiting leases' queues are counted for jobs nobody announced. */
  wakeSweepMs?: number;
}

export interface JobData {
  experimentId: string;
}

export interface TakenJob {
  queue: string;
  jobId: string;
  experimentId: string;
}

export function generalQueueName(track: string): string {
  return `eval.${track}`;
}
export function classQueueName(track: string, cls: string): string {
  return `eval.${track}.${cls}`;
}

/**
 * How long a job's lock lasts: the lease TTL less one stalled-check interval, so that a job
 * whose worker died is back in its queue within the TTL (the check that notices the lapsed
 * lock runs at most one interval after it lapses). Never under half the TTL, which still
 * leaves two heartbeats (every quarter TTL) per lock.
 */
export function lockMs(leaseTtlMs: number, stalledIntervalMs: number): number {
  return Math.max(leaseTtlMs - stalledIntervalMs, Math.ceil(leaseTtlMs / 2));
}

/** Where an experiment's job is, as the start-up sweep sees it. */
export interface JobPlace {
  queue: string;
  jobId: string;
  state: string;
}

/** Lower numbers run first. Baselines jump the queue (DESIGN.md). */
export const Priority = { baseline: 1, reverify: 5, confirm: 10, candidate: 100 } as const;

export type Queues = ReturnType<typeof createQueues>;

export function createQueues(
  cfg: QueueConfig,
  hooks: { onStalled?: (jobId: string, queue: string) => void } = {},
) {
  const queues = new Map<string, Queue<JobData>>();
  const workers = new Map<string, Worker<JobData>>();
  const addTimeoutMs = cfg.addTimeoutMs ?? 5_000;
  const lock = lockMs(cfg.leaseTtlMs, cfg.stalledIntervalMs);
  // A connection (a Redis, or a Cluster) is shared with the waker; from options, it gets its own.
  const shared = typeof (cfg.connection as Redis).duplicate === 'function';
  const wakeRedis = shared ? (cfg.connection as Redis) : new Redis(cfg.connection as RedisOptions);
  const waker = createWaker({
    redis: wakeRedis,
    channel: `${cfg.prefix}:wake`,
    ready: async (names) => {
      const out: Record<string, number> = {};
      await Promise.all(
        names.map(async (n) => {
          const c = await queue(n).getJobCounts('wait', 'prioritized', 'delayed');
          // A delayed job may have come due: one waiter looks (taking promotes it).
          out[n] = (c.wait ?? 0) + (c.prioritized ?? 0) + Math.min(1, c.delayed ?? 0);
        }),
      );
      return out;
    },
    ...(cfg.wakeSweepMs ? { sweepMs: cfg.wakeSweepMs } : {}),
  });

  function queue(name: string): Queue<JobData> {
    let q = queues.get(name);
    if (!q) {
      q = new Queue<JobData>(name, { connection: cfg.connection, prefix: cfg.prefix });
      queues.set(name, q);
    }
    return q;
  }

  function worker(name: string): Worker<JobData> {
    let w = workers.get(name);
    if (!w) {
      w = new Worker<JobData>(name, null, {
        connection: cfg.connection,
        prefix: cfg.prefix,
        lockDuration: lock,
        stalledInterval: cfg.stalledIntervalMs,
        // A lost lease puts the job back; it never fails the job for having stalled.
        maxStalledCount: 1_000_000,
        autorun: false,
      });
      w.on('stalled', (jobId) => {
        waker.notify(name);
        hooks.onStalled?.(jobId, name);
      });
      w.on('error', () => {});
      void w.startStalledCheckTimer();
      workers.set(name, w);
    }
    return w;
  }

  /** Take a job's lock again for `token` if it lapsed while the job stayed active (RELOCK_JOB). */
  async function relock(name: string, jobId: string, token: string): Promise<boolean> {
    const q = queue(name);
    const keys = [`${q.toKey(jobId)}:lock`, q.toKey('active'), q.toKey('stalled')];
    return (await wakeRedis.eval(RELOCK_JOB, 3, ...keys, jobId, token, String(lock))) === 1;
  }

  return {
    /**
     * Make sure the stalled checks of these queues run, even before any lease, and that
     * `depths()` counts them (jobs may wait in them from before a restart).
     */
    watch(names: string[]) {
      for (const n of names) {
        worker(n);
        queue(n);
      }
    },
    async add(name: string, data: JobData, priority: number): Promise<string> {
      const q = queue(name);
      worker(name);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RatchetError(ErrorCodes.REDIS_UNAVAILABLE, 'queue add timed out: is Redis up?')),
          addTimeoutMs,
        );
      });
      try {
        const job = await Promise.race([
          q.add('eval', data, { priority, removeOnComplete: true, removeOnFail: true }),
          timeout,
        ]);
        waker.notify(name);
        return job.id ?? '';
      } finally {
        clearTimeout(timer);
      }
    },
    /**
     * Take the next job of the first non-empty queue, locked with `token`. With `since` (the
     * wake version read before), queues known empty since then are not asked again.
     */
    async take(names: string[], token: string, since?: number): Promise<TakenJob | null> {
      if (since !== undefined && waker.knownEmpty(names, since)) return null;
      for (const name of names) {
        const job = (await worker(name).getNextJob(token, { block: false })) as Job<JobData> | undefined;
        if (job?.id) return { queue: name, jobId: job.id, experimentId: job.data.experimentId };
      }
      if (since !== undefined) waker.markEmpty(names, since);
      return null;
    },
    /** Changes whenever work may have arrived; read it before take(), pass it to waitForWork(). */
    wakeVersion: () => waker.version(),
    /** Sleep until one of these queues may have work (or ms pass, or the signal aborts). */
    waitForWork: (names: string[], ms: number, signal: AbortSignal | undefined, since: number) =>
      waker.wait(names, ms, signal, since),
    waiting: () => waker.waiting(),
    async extend(name: string, jobId: string, token: string): Promise<void> {
      const job = await Job.fromId<JobData>(queue(name), jobId);
      if (!job) throw new RatchetError(ErrorCodes.LEASE_LOST, 'job no longer exists');
      const ok = (await job.extendLock(token, lock)) || (await relock(name, jobId, token));
      if (!ok) throw new RatchetError(ErrorCodes.LEASE_LOST, 'lease expired: the job went back to the queue');
    },
    relock,
    /**
     * Finish a job whose outcome is accepted: completed with the token when the lock is still
     * ours, otherwise removed if it waits again (its lock lapsed); false when another holds it.
     */
    async finish(name: string, jobId: string, token: string, result: unknown): Promise<boolean> {
      const job = await Job.fromId<JobData>(queue(name), jobId);
      if (!job) return true;
      try {
        await job.moveToCompleted(result, token, false);
        return true;
      } catch {
        return job.remove().then(
          () => true,
          () => false,
        );
      }
    },
    /** Remove a job that is not locked (a sweep's orphan); false when it is locked. */
    async remove(name: string, jobId: string): Promise<boolean> {
      return queue(name)
        .remove(jobId)
        .then((n) => n === 1);
    },
    /** Where the jobs of these queues are, by experiment (waiting, active or delayed). */
    async jobsByExperiment(names: string[]): Promise<Map<string, JobPlace>> {
      const out = new Map<string, JobPlace>();
      for (const name of names) {
        for (const state of ['active', 'wait', 'prioritized', 'delayed'] as const) {
          for (const j of await queue(name).getJobs([state], 0, -1, true)) {
            if (j?.id && j.data?.experimentId)
              out.set(j.data.experimentId, { queue: name, jobId: j.id, state });
          }
        }
      }
      return out;
    },
    async complete(name: string, jobId: string, token: string, result: unknown): Promise<void> {
      const job = await Job.fromId<JobData>(queue(name), jobId);
      if (!job) throw new RatchetError(ErrorCodes.LEASE_LOST, 'job no longer exists');
      try {
        await job.moveToCompleted(result, token, false);
      } catch (e) {
        throw new RatchetError(ErrorCodes.LEASE_LOST, `lease lost: ${toError(e).message}`, { cause: e });
      }
    },
    /** Put a leased job back at the front of its priority band. */
    async release(name: string, jobId: string, token: string): Promise<void> {
      const job = await Job.fromId<JobData>(queue(name), jobId);
      if (!job) throw new RatchetError(ErrorCodes.LEASE_LOST, 'job no longer exists');
      try {
        await job.moveToWait(token);
        waker.notify(name);
      } catch (e) {
        throw new RatchetError(ErrorCodes.LEASE_LOST, `lease lost: ${toError(e).message}`, { cause: e });
      }
    },
    /** Hand a leased job back for `ms`, so that other workers may take it first. */
    async delay(name: string, jobId: string, token: string, ms: number): Promise<void> {
      const job = await Job.fromId<JobData>(queue(name), jobId);
      if (!job) return;
      await job.moveToDelayed(Date.now() + ms, token);
    },
    /** The experiments of the next `n` jobs of a queue, in the order workers take them. */
    async peek(name: string, n: number): Promise<string[]> {
      const q = queues.get(name);
      if (!q) return [];
      const jobs = await q.getJobs(['wait', 'prioritized'], 0, n - 1, true);
      return jobs.slice(0, n).map((j) => j.data.experimentId);
    },
    async depths(): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const [name, q] of queues) {
        const c = await q.getJobCounts('wait', 'prioritized', 'active', 'delayed');
        out[name] = (c.wait ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0);
      }
      return out;
    },
    async close(): Promise<void> {
      waker.close();
      if (!shared) wakeRedis.disconnect();
      const all = [
        ...[...workers.values()].map((w) => w.close(true)),
        ...[...queues.values()].map((q) => q.close()),
      ];
      await Promise.allSettled(all);
      workers.clear();
      queues.clear();
    },
  };
}
