/**
 * The scale bench's simulated workers (real tRPC clients, one connection each) and its job
 * seeder (zero-work baseline experiments put straight into the coordinator's store and
 * general queue, as the coordinator itself would).
 */
import { setMaxListeners } from 'node:events';
import type { AppRouter } from '@ratchet/coordinator';
import type { Experiment, HardwareProfile } from '@ratchet/shared';
import { createTRPCClient, httpLink } from '@trpc/client';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Deps } from '../../coordinator/src/deps.ts';
import { newExperiment } from '../../coordinator/src/proposals/proposals.ts';
import { generalQueueName, Priority } from '../../coordinator/src/queue/queues.ts';
import { createStore } from '../../coordinator/src/store/store.ts';
import { okOutcome } from '../../test/support/sim-worker.ts';
import { backoffMs } from '../../worker/src/lease/backoff.ts';
import { perWorkerFetch } from './agent-fetch.ts';

const TRACK = 'standin';
/** What newExperiment reads of the coordinator's deps. */
const seedDeps = { config: { seed: 0 }, clock: { now: () => Date.now() } } as unknown as Deps;
let seq = 0;

export async function connectStore(url: string, prefix: string) {
  const redis = new Redis(url);
  const bull = new Redis(url, { maxRetriesPerRequest: null });
  const store = createStore(redis, prefix);
  const q = new Queue(generalQueueName(TRACK), { connection: bull, prefix: `${prefix}:bull` });
  const head = (await store.requireTrack(TRACK)).head;
  return {
    /** Queue n zero-work experiments; their ids. */
    async seed(n: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i += 500) {
        const exps: Experiment[] = Array.from({ length: Math.min(500, n - i) }, () => ({
          ...newExperiment(seedDeps, {
            track: TRACK,
            kind: 'baseline',
            proposalId: null,
            base: head,
            hardwareClass: null,
            seed: ++seq,
          }),
          id: `e_scale_${process.pid}_${seq}`,
        }));
        await Promise.all(exps.map((e) => store.putExperiment(e)));
        await q.addBulk(
          exps.map((e) => ({
            name: 'eval',
            data: { experimentId: e.id },
            opts: { priority: Priority.candidate, removeOnComplete: true, removeOnFail: true },
          })),
        );
        // Announce the jobs as a coordinator replica would, so that waiting leases wake.
        await bull.publish(`${prefix}:bull:wake`, `bench ${generalQueueName(TRACK)}`);
        ids.push(...exps.map((e) => e.id));
      }
      return ids;
    },
    async drain() {
      await q.drain(true);
    },
    async close() {
      await q.close();
      redis.disconnect();
      bull.disconnect();
    },
  };
}

interface SimWorker {
  id: string;
  client: ReturnType<typeof createTRPCClient<AppRouter>>;
  close(): void;
}

export type Fleet = Awaited<ReturnType<typeof startFleet>>;

export async function startFleet(url: string, adminToken: string, profile: HardwareProfile) {
  const admin = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${adminToken}` } })],
  });
  const { token } = await admin.tokens.create.mutate({ role: 'worker', name: 'scale' });
  const workers: SimWorker[] = [];
  const received = new Map<string, number>();
  let idleStop: AbortController | null = null;

  async function one(): Promise<SimWorker> {
    const f = perWorkerFetch();
    const client = createTRPCClient<AppRouter>({
      links: [
        httpLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${token}` }, fetch: f.fetch }),
      ],
    });
    const reg = await client.workers.register.mutate({ name: `w${workers.length}`, profile, tracks: [] });
    return { id: reg.workerId, client, close: f.close };
  }

  return {
    async grow(n: number) {
      while (workers.length < n) {
        const more = await Promise.all(Array.from({ length: Math.min(50, n - workers.length) }, () => one()));
        workers.push(...more);
      }
    },
    /** The first n workers lease and complete at once for ms; lease latencies of granted leases. */
    async run(n: number, ms: number, waitMs: number) {
      const end = Date.now() + ms;
      const lat: number[] = [];
      let done = 0;
      let errors = 0;
      const t0 = performance.now();
      await Promise.all(
        workers.slice(0, n).map(async (w) => {
          while (Date.now() < end) {
            try {
              const a = performance.now();
              const { lease } = await w.client.workers.lease.mutate({ workerId: w.id, waitMs });
              if (!lease) continue;
              lat.push(performance.now() - a);
              await w.client.workers.complete.mutate({
                workerId: w.id,
                experimentId: lease.experimentId,
                leaseToken: lease.leaseToken,
                outcome: okOutcome(1 + Math.random() * 0.01),
              });
              if (Date.now() <= end) done++;
            } catch {
              errors++;
            }
          }
        }),
      );
      return { lat, done, errors, s: Math.min(ms, performance.now() - t0) / 1000 };
    },
    /**
     * The first n workers long-poll until stopIdle(); what they lease they complete. A failed
     * call is retried after the worker agent's own jittered lease backoff (worker/src/lease/loop.ts); `onAnswer(i)` is told of
     * every answered lease call of worker i (and when it was sent), `onError(i, err)` of every failed one.
     */
    idle(
      n: number,
      waitMs: number,
      hooks: {
        onAnswer?: (i: number, sentAt: number) => void;
        onError?: (i: number, err: unknown) => void;
      } = {},
    ): Promise<void> {
      const stop = new AbortController();
      setMaxListeners(0, stop.signal);
      idleStop = stop;
      return Promise.all(
        workers.slice(0, n).map(async (w, i) => {
          let failures = 0;
          while (!stop.signal.aborted) {
            try {
              const sentAt = performance.now();
              const { lease } = await w.client.workers.lease.mutate(
                { workerId: w.id, waitMs },
                { signal: stop.signal },
              );
              failures = 0;
              hooks.onAnswer?.(i, sentAt);
              if (!lease) continue;
              received.set(lease.experimentId, Date.now());
              await w.client.workers.complete.mutate({
                workerId: w.id,
                experimentId: lease.experimentId,
                leaseToken: lease.leaseToken,
                outcome: okOutcome(1),
              });
            } catch (err) {
              if (stop.signal.aborted) break;
              hooks.onError?.(i, err);
              await new Promise((r) => setTimeout(r, backoffMs(failures++, 1_000, 15_000)));
            }
          }
        }),
      ).then(() => {});
    },
    async stopIdle() {
      idleStop?.abort();
    },
    /** How many jobs the long-polling workers have leased so far. */
    leasedCount(): number {
      return received.size;
    },
    async receivedAt(expId: string, timeoutMs: number): Promise<number> {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const t = received.get(expId);
        if (t !== undefined) return t;
        await new Promise((r) => setTimeout(r, 2));
      }
      return Number.POSITIVE_INFINITY;
    },
    async close() {
      idleStop?.abort();
      for (const w of workers) w.close();
    },
  };
}
