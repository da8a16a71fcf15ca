/**
 * Prometheus metrics: one Registry per coordinator. Counters and histograms count events as
 * they happen (instruments.ts, fed by observe.ts); gauges are read at scrape time from the
 * aggregates in store/stats.ts, so a scrape costs O(tracks × classes × statuses + queues)
 * Redis reads however many experiments there are. With Redis unreachable a scrape still
 * answers, with `ratchet_redis_up 0` and without the Redis-backed gauges.
 */
import { Gauge, Registry } from 'prom-client';
import { answerCounts, answerRowKey } from '../proposers/answers.ts';
import type { Queues } from '../queue/queues.ts';
import { SEP, type StatsStore } from '../store/stats.ts';
import type { Store } from '../store/store.ts';
import { createInstruments } from './instruments.ts';
import { createObserver } from './observe.ts';

/** Rows of the strategy leaderboard exported (best first); the rest are left out. */
const MAX_STRATEGY_ROWS = 50;
/** How long one Redis probe's answer serves the scrape's collectors. */
const PROBE_TTL_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
/** Workers seen this recently, but not within the live window, count as offline (ms). */
const OFFLINE_WINDOW_MS = 24 * 3600_000;

export function createMetrics(opts: {
  stats: StatsStore;
  /** The undecorated store (lookups only). */
  store: Store;
  queues: Queues;
  liveWindowMs: number;
  now?: () => number;
}) {
  const registry = new Registry();
  const { stats, store, queues } = opts;
  const now = opts.now ?? Date.now;
  const instruments = createInstruments(registry);
  const observer = createObserver({ stats, store, instruments, now });

  let probe: { at: number; ok: Promise<boolean> } | null = null;
  const redisUp = (): Promise<boolean> => {
    const t = now();
    if (!probe || t - probe.at > PROBE_TTL_MS) probe = { at: t, ok: stats.ping(PROBE_TIMEOUT_MS) };
    return probe.ok;
  };
  /** A gauge read from Redis: empty (not failing the scrape) when Redis is down. */
  function redisGauge(
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge<string>) => Promise<void>,
  ) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        if (!(await redisUp())) return;
        try {
          await fill(this);
        } catch {
          this.reset();
          instruments.errors.inc();
        }
      },
    });
  }

  new Gauge({
    name: 'ratchet_redis_up',
    help: '1 when the coordinator reaches Redis within a second.',
    registers: [registry],
    async collect() {
      this.set((await redisUp()) ? 1 : 0);
    },
  });
  redisGauge(
    'ratchet_workers',
    'Workers seen within the live window, by hardware class (a worker with several backends: its first).',
    ['hardware_class'],
    async (g) => {
      for (const c of await stats.workersByClass(now() - opts.liveWindowMs, now() - OFFLINE_WINDOW_MS)) {
        g.set({ hardware_class: c.cls }, c.live);
      }
    },
  );
  redisGauge(
    'ratchet_workers_by_state',
    // busy: experiments marked running on the class, at most its live workers (a lease that
    // expired counts until its job is leased again); idle: the other live ones; offline: seen
    // within the last day but not within the live window.
    'Workers by hardware class and state: busy, idle (live, not running anything), offline.',
    ['hardware_class', 'state'],
    async (g) => {
      const running = new Map<string, number>();
      for (const [key, n] of Object.entries(await stats.counts('exp'))) {
        const [, status, , cls] = key.split(SEP);
        if (status === 'running' && cls) running.set(cls, (running.get(cls) ?? 0) + n);
      }
      for (const c of await stats.workersByClass(now() - opts.liveWindowMs, now() - OFFLINE_WINDOW_MS)) {
        const busy = Math.min(c.live, running.get(c.cls) ?? 0);
        g.set({ hardware_class: c.cls, state: 'busy' }, busy);
        g.set({ hardware_class: c.cls, state: 'idle' }, c.live - busy);
        g.set({ hardware_class: c.cls, state: 'offline' }, c.offline);
      }
    },
  );
  redisGauge('ratchet_queue_depth', 'Jobs waiting per queue.', ['queue'], async (g) => {
    for (const [queue, n] of Object.entries(await queues.depths())) g.set({ queue }, n);
  });
  redisGauge(
    'ratchet_experiments',
    'Experiments by track, status, verdict and hardware class.',
    ['track', 'status', 'verdict', 'hardware_class'],
    async (g) => {
      for (const [key, n] of Object.entries(await stats.counts('exp'))) {
        const [track, status, verdict, cls] = key.split(SEP);
        g.set({ track, status, verdict, hardware_class: cls }, n);
      }
    },
  );
  redisGauge('ratchet_proposals', 'Proposals by track and status.', ['track', 'status'], async (g) => {
    for (const [key, n] of Object.entries(await stats.counts('prop'))) {
      const [track, status] = key.split(SEP);
      g.set({ track, status }, n);
    }
  });
  redisGauge(
    'ratchet_best_val_bpb',
    'Best val_bpb recorded per track and hardware class (baselines and kept results).',
    ['track', 'hardware_class'],
    async (g) => {
      for (const [key, v] of Object.entries(await stats.best())) {
        const [track, cls] = key.split(SEP);
        g.set({ track, hardware_class: cls }, v);
      }
    },
  );
  redisGauge(
    'ratchet_frontier_moved_timestamp_seconds',
    "When each track's frontier last moved (a merge), or the track was added.",
    ['track'],
    async (g) => {
      for (const [track, ms] of Object.entries(await stats.frontierTimes())) g.set({ track }, ms / 1000);
    },
  );
  redisGauge(
    'ratchet_strategy',
    'The strategy leaderboard: proposals, merged, gain (val_bpb) and device-hours per strategy.',
    ['track', 'strategy', 'proposer', 'what'],
    async (g) => {
      const rows = new Map<string, Record<string, number>>();
      for (const [key, v] of Object.entries(await stats.strategies())) {
        const i = key.lastIndexOf(SEP);
        const row = rows.get(key.slice(0, i)) ?? {};
        row[key.slice(i + 1)] = v;
        rows.set(key.slice(0, i), row);
      }
      // Every proposer that answered has a row, even one whose every answer was invalid.
      const answers = answerCounts(await store.counters());
      for (const a of answers.values()) {
        const key = [a.track, a.strategy, a.proposer].join(SEP);
        if (!rows.has(key)) rows.set(key, {});
      }
      const ranked = [...rows.entries()]
        .map(([key, r]) => {
          const hours = (r.device_seconds ?? 0) / 3600;
          return { key, r, hours, perHour: hours > 0 ? (r.gain ?? 0) / hours : 0 };
        })
        .sort((a, b) => b.perHour - a.perHour || (b.r.merged ?? 0) - (a.r.merged ?? 0))
        .slice(0, MAX_STRATEGY_ROWS);
      for (const { key, r, hours, perHour } of ranked) {
        const [track, strategy, proposer] = key.split(SEP);
        const l = { track, strategy, proposer };
        const a = answers.get(answerRowKey(track ?? '', strategy ?? '', proposer ?? ''));
        const invalid = a?.invalid ?? 0;
        g.set({ ...l, what: 'proposals' }, r.proposals ?? 0);
        g.set({ ...l, what: 'merged' }, r.merged ?? 0);
        g.set({ ...l, what: 'gain' }, r.gain ?? 0);
        g.set({ ...l, what: 'gpu_hours' }, hours);
        g.set({ ...l, what: 'gain_per_gpu_hour' }, perHour);
        g.set({ ...l, what: 'invalid_rate' }, a && a.answers > 0 ? invalid / a.answers : 0);
      }
    },
  );

  return {
    registry,
    instruments,
    observer,
    leaseExpiries: instruments.leaseExpiries,
    finished: instruments.finished,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
