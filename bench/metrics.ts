/**
 * The cost of a /metrics scrape as the history grows. Writes N finished experiments (and
 * their proposals) through the coordinator's observed store into a real Redis, then times
 * scrapes of the real registry, and, for comparison, one full read of the experiments (what
 * the gauges used to do on every scrape, twice, plus the proposals for the leaderboard).
 * Prints figures; asserts nothing.
 *   node --import tsx bench/metrics.ts [N1,N2,...]   (default 1000,10000)
 */
import { Redis } from 'ioredis';
import { createMetrics } from '../coordinator/src/metrics/metrics.ts';
import { observeStore } from '../coordinator/src/metrics/observe.ts';
import { createQueues } from '../coordinator/src/queue/queues.ts';
import { createStatsStore } from '../coordinator/src/store/stats.ts';
import { createStore } from '../coordinator/src/store/store.ts';
import { setup, teardown } from '../test/support/global-redis.ts';
import { cleanRedis, uniquePrefix } from '../test/support/harness.ts';

const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
const say = (s: string) => process.stdout.write(`${s}\n`);
const BASE = 'a'.repeat(40);
const CLASSES = ['cpu-x64-epyc-2c', 'cuda-h100', 'mps-apple-m4-max'];
const VERDICTS = ['discard', 'keep', 'baseline', 'crash'] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

await setup();
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
say('experiments | scrape median ms | scrape bytes | full read of experiments ms (old gauges: 2 per scrape)');
for (const n of sizes) {
  const prefix = uniquePrefix('bench-metrics');
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  const bull = new Redis(url, { maxRetriesPerRequest: null });
  const raw = createStore(redis, prefix);
  const queues = createQueues({
    connection: bull,
    prefix: `${prefix}:bull`,
    leaseTtlMs: 60_000,
    stalledIntervalMs: 30_000,
  });
  const metrics = createMetrics({
    stats: createStatsStore(redis, prefix),
    store: raw,
    queues,
    liveWindowMs: 180_000,
  });
  const store = observeStore(raw, metrics.observer, metrics.instruments, (e) => {
    throw e;
  });
  try {
    for (let i = 0; i < n; i++) {
      const id = `e_${String(i).padStart(8, '0')}`;
      const pid = `p_${String(i).padStart(8, '0')}`;
      const cls = CLASSES[i % CLASSES.length]!;
      const verdict = VERDICTS[i % VERDICTS.length]!;
      await store.putProposal({
        id: pid,
        track: 'tiny',
        base: BASE,
        patch: 'p',
        patchHash: `h${i}`,
        description: 'd',
        proposer: 'mutation',
        strategy: `s${i % 5}`,
        status: 'discarded',
        createdAt: i,
        experimentIds: [id],
        mergedCommit: null,
        verdictReason: null,
        decision: null,
        conflict: null,
        originalBase: null,
        rebases: 0,
        throttleRequeues: 0,
      });
      await store.putExperiment({
        id,
        track: 'tiny',
        kind: 'candidate',
        proposalId: pid,
        base: BASE,
        hardwareClass: cls,
        status: verdict === 'crash' ? 'crash' : 'ok',
        verdict,
        verdictReason: null,
        workerId: null,
        seed: i,
        metrics: {
          val_bpb: 1 - i / 1e6,
          training_seconds: 300,
          total_seconds: 310,
          peak_vram_mb: null,
          mfu_percent: null,
          total_tokens_M: null,
          num_steps: 100,
          num_params_M: null,
          depth: null,
        },
        extra: {},
        crash: null,
        baselineBpb: null,
        delta: null,
        logTail: 'x'.repeat(2000),
        timings: {
          leasedAt: 0,
          checkoutMs: 10,
          prepareMs: 0,
          trainStartAt: 1000,
          trainExitAt: 301_000,
          reportedAt: 302_000,
        },
        progress: null,
        createdAt: i,
        leasedAt: 0,
        finishedAt: 1,
        recordedAt: 1,
        attempts: 1,
        stage: 'screen',
        excludeWorkerId: null,
        batch: false,
        batchId: null,
        members: [],
        patch: null,
      });
    }
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      bytes = (await metrics.registry.metrics()).length;
      times.push(performance.now() - t0);
    }
    const t0 = performance.now();
    await raw.listExperiments('tiny');
    const scan = performance.now() - t0;
    say(`${n} | ${median(times).toFixed(2)} | ${bytes} | ${scan.toFixed(1)}`);
  } finally {
    await queues.close();
    redis.disconnect();
    bull.disconnect();
    await cleanRedis(prefix);
  }
}
await teardown();
