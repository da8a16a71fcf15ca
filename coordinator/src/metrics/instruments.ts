/**
 * The coordinator's in-process counters and histograms (they reset when it restarts, which
 * Prometheus's rate/increase handle). Labels are bounded: tracks, hardware classes and
 * enum values; worker names go through `boundedLabel`.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** Seconds. Queue waits span a second (an idle fleet) to hours (a long backlog). */
const WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
/** Seconds. Training runs: a stand-in's second, upstream's 5-minute budget, hard timeouts. */
const RUN_BUCKETS = [1, 5, 10, 30, 60, 120, 240, 300, 330, 420, 600, 900, 1800, 3600];
/** Seconds. API calls, including the lease long poll (up to 60 s). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

/** Maps values to themselves until `max` distinct ones were seen, then to `other`. */
export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}

export function createInstruments(registry: Registry) {
  const registers = [registry];
  return {
    leaseExpiries: new Counter({
      name: 'ratchet_lease_expiries_total',
      help: 'Leases lost by workers that stopped heartbeating (job returned to the queue).',
      registers,
    }),
    leases: new Counter({
      name: 'ratchet_leases_total',
      help: 'Jobs leased to workers, per queue (a job whose lease expired counts again when re-leased).',
      labelNames: ['queue'],
      registers,
    }),
    finished: new Counter({
      name: 'ratchet_experiments_finished_total',
      help: 'Experiments whose result was recorded.',
      registers,
    }),
    verdicts: new Counter({
      name: 'ratchet_experiment_verdicts_total',
      help: 'Verdicts given to experiments (an experiment moving from pending to keep counts in both).',
      labelNames: ['track', 'verdict'],
      registers,
    }),
    transitions: new Counter({
      name: 'ratchet_proposal_transitions_total',
      help: 'Proposals entering a status (merged, reverify, conflict and stale are the merge train).',
      labelNames: ['track', 'status'],
      registers,
    }),
    queueWait: new Histogram({
      name: 'ratchet_queue_wait_seconds',
      help: 'From an experiment being queued to its lease, by stage (baseline, screen, confirm).',
      labelNames: ['track', 'stage'],
      buckets: WAIT_BUCKETS,
      registers,
    }),
    runDuration: new Histogram({
      name: 'ratchet_run_duration_seconds',
      help: 'Training process wall time (spawn to exit) as the worker reported it.',
      labelNames: ['track', 'hardware_class', 'status'],
      buckets: RUN_BUCKETS,
      registers,
    }),
    overhead: new Histogram({
      name: 'ratchet_experiment_overhead_seconds',
      help: 'Lease to report minus training time: checkout, prepare, parsing and reporting.',
      labelNames: ['track', 'hardware_class'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    workerExperiments: new Counter({
      name: 'ratchet_worker_experiments_total',
      help: 'Experiments finished per worker (the first 200 worker names; later ones count as other).',
      labelNames: ['worker', 'hardware_class', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'ratchet_http_request_duration_seconds',
      help: 'API request durations by route (tRPC procedure); workers.lease is the lease latency.',
      labelNames: ['route', 'code'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    errors: new Counter({
      name: 'ratchet_metrics_errors_total',
      help: 'Failures updating the metric aggregates (the record itself was written).',
      registers,
    }),
  };
}
export type Instruments = ReturnType<typeof createInstruments>;
