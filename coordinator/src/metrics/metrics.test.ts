/** Metrics follow the records as they are written, against a real Redis and real queues. */
import { type Experiment, type Proposal, TrackConfig } from '@ratchet/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanRedis, uniquePrefix } from '../../../test/support/harness.ts';
import { createQueues } from '../queue/queues.ts';
import { createStatsStore } from '../store/stats.ts';
import { createStore } from '../store/store.ts';
import { routeLabel } from './http.ts';
import { boundedLabel } from './instruments.ts';
import { createMetrics } from './metrics.ts';
import { observeStore } from './observe.ts';

const URL_ = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BASE = 'a'.repeat(40);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(opts: { redisUrl?: string } = {}) {
  const prefix = uniquePrefix('metrics');
  const redis = new Redis(opts.redisUrl ?? URL_, { maxRetriesPerRequest: 1, lazyConnect: !!opts.redisUrl });
  redis.on('error', () => {});
  const bull = new Redis(URL_, { maxRetriesPerRequest: null });
  const raw = createStore(redis, prefix);
  const queues = createQueues({
    connection: bull,
    prefix: `${prefix}:bull`,
    leaseTtlMs: 5000,
    stalledIntervalMs: 5000,
  });
  let now = 1_000_000;
  const metrics = createMetrics({
    stats: createStatsStore(redis, prefix),
    store: raw,
    queues,
    liveWindowMs: 60_000,
    now: () => now,
  });
  const errors: unknown[] = [];
  const store = observeStore(raw, metrics.observer, metrics.instruments, (e) => errors.push(e));
  cleanups.push(async () => {
    await queues.close();
    redis.disconnect();
    bull.disconnect();
    await cleanRedis(prefix);
  });
  return { prefix, redis, raw, store, metrics, errors, tick: (ms: number) => (now += ms) };
}

/** Samples named `name` (a metric, or a histogram's `_sum`/`_count`/`_bucket`). */
async function values(m: ReturnType<typeof createMetrics>, name: string) {
  const all = await m.registry.getMetricsAsJSON();
  return all.flatMap((x) =>
    (x.values as { metricName?: string; labels: object; value: number }[]).filter(
      (v) => (v.metricName ?? x.name) === name,
    ),
  );
}
async function value(m: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>) {
  const v = (await values(m, name)).find((x) =>
    Object.entries(labels).every(([k, l]) => String((x.labels as Record<string, unknown>)[k]) === l),
  );
  return v?.value;
}

function exp(id: string, fields: Partial<Experiment> = {}): Experiment {
  return {
    id,
    track: 'tiny',
    kind: 'candidate',
    proposalId: null,
    base: BASE,
    hardwareClass: null,
    status: 'queued',
    verdict: null,
    verdictReason: null,
    workerId: null,
    seed: 1,
    metrics: null,
    extra: {},
    crash: null,
    baselineBpb: null,
    delta: null,
    logTail: '',
    timings: null,
    progress: null,
    createdAt: 1_000,
    leasedAt: null,
    finishedAt: null,
    recordedAt: null,
    attempts: 0,
    stage: 'screen',
    excludeWorkerId: null,
    batchId: null,
    batch: false,
    members: [],
    patch: null,
    ...fields,
  };
}
const runMetrics = (valBpb: number) => ({
  val_bpb: valBpb,
  training_seconds: 300,
  total_seconds: 310,
  peak_vram_mb: null,
  mfu_percent: null,
  total_tokens_M: null,
  num_steps: 100,
  num_params_M: null,
  depth: null,
});
function proposal(id: string, fields: Partial<Proposal> = {}): Proposal {
  return {
    id,
    track: 'tiny',
    base: BASE,
    patch: 'p',
    patchHash: 'h',
    description: 'd',
    proposer: 'mutation',
    strategy: 'default',
    status: 'queued',
    createdAt: 1,
    experimentIds: [],
    mergedCommit: null,
    verdictReason: null,
    decision: null,
    conflict: null,
    originalBase: null,
    rebases: 0,
    throttleRequeues: 0,
    ...fields,
  };
}

/** An experiment's whole life: queued, leased by worker `w`, finished ok with a verdict. */
async function runExperiment(store: ReturnType<typeof setup>['store'], id: string, valBpb: number) {
  const e = exp(id, { proposalId: 'p_000001', kind: 'candidate' });
  await store.putExperiment(e);
  const running = {
    ...e,
    status: 'running' as const,
    workerId: 'w_000001',
    hardwareClass: 'cpu-4c',
    leasedAt: 31_000,
  };
  await store.putExperiment(running);
  const timings = {
    leasedAt: 31_000,
    checkoutMs: 0,
    prepareMs: 0,
    trainStartAt: 32_000,
    trainExitAt: 332_000,
    reportedAt: 333_000,
  };
  const ok = {
    ...running,
    status: 'ok' as const,
    metrics: runMetrics(valBpb),
    timings,
    verdict: 'pending' as const,
  };
  await store.putExperiment(ok);
  await store.putExperiment({ ...ok, verdict: 'keep' });
}

describe('metrics', () => {
  it('counts each transition once and moves the state counts with it', async () => {
    const s = setup();
    await s.store.putWorker({
      id: 'w_000001',
      name: 'lab-gpu-1',
      hardwareClass: 'cpu-4c',
      backend: 'cpu',
      backends: ['cpu'],
      classes: { cpu: 'cpu-4c' },
      tracks: [],
      tokenName: 'lab',
      registeredAt: 1,
      lastSeenAt: 1_000_000,
      trusted: false,
    });
    await s.store.putProposal(proposal('p_000001'));
    await runExperiment(s.store, 'e_000001', 0.98);
    await s.store.putLease({
      experimentId: 'e_000001',
      workerId: 'w_000001',
      token: 't'.repeat(32),
      queue: 'eval.tiny',
      jobId: '1',
      leasedAt: 31_000,
    });
    // Writing the same state again (a heartbeat's progress, say) counts nothing more.
    await s.store.putExperiment({ ...(await s.raw.getExperiment('e_000001'))! });

    expect(s.errors).toEqual([]);
    expect(await value(s.metrics, 'ratchet_experiments', { status: 'ok', verdict: 'keep' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_experiments', { status: 'queued' })).toBe(0);
    expect(await value(s.metrics, 'ratchet_experiments', { status: 'running' })).toBe(0);
    expect(await value(s.metrics, 'ratchet_experiment_verdicts_total', { verdict: 'pending' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_experiment_verdicts_total', { verdict: 'keep' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_queue_wait_seconds_sum', { stage: 'screen' })).toBe(30);
    expect(await value(s.metrics, 'ratchet_run_duration_seconds_sum', { hardware_class: 'cpu-4c' })).toBe(
      300,
    );
    expect(await value(s.metrics, 'ratchet_experiment_overhead_seconds_sum', {})).toBe(2);
    expect(await value(s.metrics, 'ratchet_worker_experiments_total', { worker: 'lab-gpu-1' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_leases_total', { queue: 'eval.tiny' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_best_val_bpb', { track: 'tiny', hardware_class: 'cpu-4c' })).toBe(
      0.98,
    );
    expect(await value(s.metrics, 'ratchet_workers', { hardware_class: 'cpu-4c' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_workers_by_state', { state: 'idle' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_strategy', { what: 'gpu_hours' })).toBeCloseTo(300 / 3600, 9);

    await s.store.putProposal(proposal('p_000001', { status: 'running' }));
    await s.store.putProposal(
      proposal('p_000001', {
        status: 'merged',
        decision: {
          verdict: 'accept',
          reason: 'r',
          hardwareClass: 'cpu-4c',
          candidateSamples: [],
          baselineSamples: [],
          n: 2,
          m: 5,
          candidateMean: 0.98,
          baselineMean: 1,
          delta: -0.02,
          sigma: 0.001,
          df: 4,
          t: -10,
          tCrit: 3.7,
          margin: 0.0005,
        },
      }),
    );
    expect(await value(s.metrics, 'ratchet_proposals', { status: 'merged' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_proposals', { status: 'queued' })).toBe(0);
    expect(await value(s.metrics, 'ratchet_proposal_transitions_total', { status: 'merged' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_strategy', { what: 'merged' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_strategy', { what: 'gain' })).toBeCloseTo(0.02, 9);
    expect(await value(s.metrics, 'ratchet_frontier_moved_timestamp_seconds', { track: 'tiny' })).toBe(1000);
    // The worker goes quiet: offline once the live window has passed.
    s.tick(61_000);
    expect(await value(s.metrics, 'ratchet_workers_by_state', { state: 'offline' })).toBe(1);
    // A day later it no longer counts; after a week a write of its class forgets it.
    s.tick(24 * 3600_000);
    expect(await value(s.metrics, 'ratchet_workers_by_state', { state: 'offline' })).toBe(0);
    await s.store.touchWorker('w_000001', 1_000_000);
    expect(await s.redis.zcard(`${s.prefix}:m:seen:cpu-4c`)).toBe(1);
    await s.store.putWorker({
      ...(await s.raw.getWorker('w_000001'))!,
      id: 'w_000002',
      lastSeenAt: 1_000_000 + 8 * 24 * 3600_000,
    });
    expect(await s.redis.zrange(`${s.prefix}:m:seen:cpu-4c`, '0', '-1')).toEqual(['w_000002']);
  });

  it('answers a scrape from its aggregates alone, without reading experiment records', async () => {
    const s = setup();
    for (let i = 0; i < 50; i++)
      await runExperiment(s.store, `e_${String(i).padStart(6, '0')}`, 1 - i / 1000);
    // Remove every experiment record: a scrape that scanned them would now see nothing.
    const keys = await s.redis.keys(`${s.prefix}:exp:*`);
    expect(keys.length).toBe(50);
    await s.redis.del(...keys);
    expect(await value(s.metrics, 'ratchet_experiments', { status: 'ok', verdict: 'keep' })).toBe(50);
    expect(await value(s.metrics, 'ratchet_best_val_bpb', { hardware_class: 'cpu-4c' })).toBeCloseTo(
      0.951,
      9,
    );
  });

  it('backfills records written before the aggregates existed, once', async () => {
    const s = setup();
    await s.raw.putTrack({
      config: TrackConfig.parse({
        id: 'tiny',
        editable: ['train.py'],
        run: { default: ['python', 'train.py'] },
      }),
      head: BASE,
      branch: 'tracks/tiny',
      pinnedHashes: {},
      prepareHash: 'x',
    });
    await s.raw.putProposal(proposal('p_000001', { status: 'discarded' }));
    await s.raw.putExperiment(exp('e_000001', { proposalId: 'p_000001', status: 'ok', verdict: 'discard' }));
    await s.metrics.observer.backfill();
    await s.metrics.observer.backfill();
    expect(await value(s.metrics, 'ratchet_experiments', { status: 'ok', verdict: 'discard' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_proposals', { status: 'discarded' })).toBe(1);
    expect(await value(s.metrics, 'ratchet_strategy', { what: 'proposals' })).toBe(1);
    // History is not replayed into the event counters.
    expect(await values(s.metrics, 'ratchet_experiment_verdicts_total')).toEqual([]);
  });

  it('still answers a scrape, with ratchet_redis_up 0, when Redis is unreachable', async () => {
    const s = setup({ redisUrl: 'redis://127.0.0.1:1' });
    const text = await s.metrics.registry.metrics();
    expect(text).toMatch(/^ratchet_redis_up 0$/m);
    expect(text).not.toMatch(/^ratchet_experiments\{/m);
    expect(text).toMatch(/^ratchet_lease_expiries_total 0$/m);
  });
});

describe('labels', () => {
  it('labels tRPC calls by procedure and nothing a client invents', () => {
    expect(routeLabel('/trpc/workers.lease', '/trpc/*')).toBe('trpc:workers.lease');
    expect(routeLabel('/trpc/workers.lease,workers.heartbeat', '/trpc/*')).toBe('trpc:batch');
    expect(routeLabel('/trpc/no.such.thing', '/trpc/*')).toBe('trpc:other');
    expect(routeLabel('/healthz', '/healthz')).toBe('/healthz');
    expect(routeLabel('/nope', undefined)).toBe('unmatched');
  });

  it('caps distinct worker labels', () => {
    const label = boundedLabel(2);
    expect(['a', 'b', 'c', 'a'].map(label)).toEqual(['a', 'b', 'other', 'a']);
  });
});
