/** Prometheus metrics: one Registry per coordinator, gauges computed at scrape time. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Queues } from '../queue/queues.ts';
import type { Deps } from '../service/deps.ts';
import { leaderboard } from '../service/leaderboard.ts';
import type { Store } from '../store/store.ts';

export function createMetrics(opts: {
  store: Store;
  queues: Queues;
  liveWindowMs: number;
  deps?: () => Deps | null;
}) {
  const registry = new Registry();
  const { store, queues } = opts;
  const leaseExpiries = new Counter({
    name: 'ratchet_lease_expiries_total',
    help: 'Leases lost by workers that stopped heartbeating (job returned to the queue).',
    registers: [registry],
  });
  const finished = new Counter({
    name: 'ratchet_experiments_finished_total',
    help: 'Experiments whose result was recorded.',
    registers: [registry],
  });
  new Gauge({
    name: 'ratchet_workers',
    help: 'Workers seen within the live window, by hardware class.',
    labelNames: ['hardware_class'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const w of await store.listWorkers()) {
        if (now - w.lastSeenAt <= opts.liveWindowMs) this.inc({ hardware_class: w.hardwareClass });
      }
    },
  });
  new Gauge({
    name: 'ratchet_queue_depth',
    help: 'Jobs waiting per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, n] of Object.entries(await queues.depths())) this.set({ queue }, n);
    },
  });
  new Gauge({
    name: 'ratchet_experiments',
    help: 'Experiments by track, status and verdict.',
    labelNames: ['track', 'status', 'verdict'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await store.listTracks()) {
        for (const e of await store.listExperiments(t.config.id)) {
          this.inc({ track: t.config.id, status: e.status, verdict: e.verdict ?? 'none' });
        }
      }
    },
  });
  new Gauge({
    name: 'ratchet_best_val_bpb',
    help: 'Best val_bpb recorded per track and hardware class (baselines and kept results).',
    labelNames: ['track', 'hardware_class'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await store.listTracks()) {
        const best = new Map<string, number>();
        for (const e of await store.listExperiments(t.config.id)) {
          if (!e.metrics || !e.hardwareClass || (e.verdict !== 'baseline' && e.verdict !== 'keep')) continue;
          const cur = best.get(e.hardwareClass);
          if (cur === undefined || e.metrics.val_bpb < cur) best.set(e.hardwareClass, e.metrics.val_bpb);
        }
        for (const [cls, v] of best) this.set({ track: t.config.id, hardware_class: cls }, v);
      }
    },
  });
  new Gauge({
    name: 'ratchet_strategy',
    help: 'The strategy leaderboard: proposals, merged, gain (val_bpb) and device-hours per strategy.',
    labelNames: ['track', 'strategy', 'proposer', 'what'],
    registers: [registry],
    async collect() {
      this.reset();
      const deps = opts.deps?.();
      if (!deps) return;
      for (const r of await leaderboard(deps)) {
        const l = { track: r.track, strategy: r.strategy, proposer: r.proposer };
        const gain = Object.values(r.gainByClass).reduce((a, b) => a + b, 0);
        this.set({ ...l, what: 'proposals' }, r.proposals);
        this.set({ ...l, what: 'merged' }, r.merged);
        this.set({ ...l, what: 'gain' }, gain);
        this.set({ ...l, what: 'gpu_hours' }, r.gpuHours);
        this.set({ ...l, what: 'gain_per_gpu_hour' }, r.gainPerGpuHour);
        this.set({ ...l, what: 'invalid_rate' }, r.invalidRate);
      }
    },
  });
  return { registry, leaseExpiries, finished };
}
export type Metrics = ReturnType<typeof createMetrics>;
