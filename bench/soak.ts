/**
 * Soak: one compiled coordinator in its own process (its own Redis server) holding N simulated
 * workers that long-poll, with a steady trickle of zero-work jobs that they lease and complete,
 * for a given time. Every sample interval it forces a full GC in the coordinator
 * (RATCHET_DEBUG_MEMORY, test/support/coordinator-main.ts) and records its heap used after
 * it, its RSS, its CPU over the interval and Redis's used_memory. Prints the series as TSV on
 * stdout as it goes and, at the end, the least-squares slope (MB/hour) of each over the second
 * half of the run, and whether it grows: slope ≥ 1 MB/hour and more than twice its standard
 * error.
 *
 *   node --import tsx bench/soak.ts [minutes 60] [workers 1000] [jobs/s 2]
 * RATCHET_SOAK_SAMPLE_S sets the sample interval (default 60 s).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startCoordinatorProcess } from '../test/support/coordinator-process.ts';
import { SIM_PROFILE } from '../test/support/sim-worker.ts';
import { connectStore, startFleet } from './scale/fleet.ts';
import { cpuSeconds, loadAvg, rssMb } from './scale/procs.ts';
import { freePort, startRedis } from './scale/redis.ts';

const minutes = Number(process.argv[2] ?? 60);
const n = Number(process.argv[3] ?? 1000);
const jobsPerS = Number(process.argv[4] ?? 2);
const sampleS = Number(process.env.RATCHET_SOAK_SAMPLE_S ?? 60);
const ROOT = join(import.meta.dirname, '..');
const say = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

interface Sample {
  min: number;
  heapAfterGc: number;
  rss: number;
  external: number;
  redisUsed: number;
  cpu: number;
  leased: number;
  errors: number;
  load: string;
}

/** Least-squares slope of y on x and its standard error. */
export function leastSquares(xs: number[], ys: number[]): { slope: number; se: number } {
  const k = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / k;
  const my = ys.reduce((a, b) => a + b, 0) / k;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < k; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  let sse = 0;
  for (let i = 0; i < k; i++) sse += (ys[i]! - my - slope * (xs[i]! - mx)) ** 2;
  const se = k > 2 && sxx > 0 ? Math.sqrt(sse / (k - 2) / sxx) : Number.POSITIVE_INFINITY;
  return { slope, se };
}

say(`soak ${minutes} min, ${n} workers, ${jobsPerS} jobs/s, sample every ${sampleS} s; load ${loadAvg()}`);
const redis = await startRedis();
const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-soak-'));
const coord = await startCoordinatorProcess(
  {
    REDIS_URL: redis.url,
    RATCHET_DATA_DIR: dataDir,
    RATCHET_REDIS_PREFIX: 'soak',
    RATCHET_TRACKS: join(ROOT, 'test/fixtures/standin'),
    RATCHET_REBASE_ON_LEASE: '0',
    RATCHET_PORT: String(await freePort()),
    RATCHET_DEBUG_MEMORY: '1',
  },
  { compiled: true, nodeArgs: ['--expose-gc'] },
);
const info = new Redis(redis.url);
const store = await connectStore(redis.url, 'soak');
const fleet = await startFleet(coord.url, coord.adminToken, SIM_PROFILE);

async function redisUsedMb(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await info.info('memory'))?.[1] ?? 0) / MB;
}

const samples: Sample[] = [];
let errors = 0;
let seeded = 0;
let seedErrors = 0;
let stopping = false;
try {
  const t0 = performance.now();
  await fleet.grow(n);
  say(`${n} workers registered in ${((performance.now() - t0) / 1000).toFixed(1)} s; load ${loadAvg()}`);
  const polling = fleet.idle(n, 20_000, { onError: () => errors++ });
  const trickle = (async () => {
    const every = 1000 / jobsPerS;
    let next = performance.now();
    while (!stopping) {
      try {
        await store.seed(1);
        seeded++;
      } catch {
        seedErrors++;
      }
      next += every;
      await sleep(Math.max(0, next - performance.now()));
    }
  })();
  const start = performance.now();
  const end = start + minutes * 60_000;
  console.log('min\theap_after_gc_MB\trss_MB\texternal_MB\tredis_used_MB\tcoord_cpu\tleased\terrors\tload1');
  let cpu0 = cpuSeconds(coord.pid);
  let tPrev = performance.now();
  for (let k = 0; ; k++) {
    const at = start + k * sampleS * 1000;
    if (at > end) break;
    await sleep(Math.max(0, at - performance.now()));
    const { memory: m } = await coord.memoryAfterGc();
    const now = performance.now();
    const cpu1 = cpuSeconds(coord.pid);
    const s: Sample = {
      min: (now - start) / 60_000,
      heapAfterGc: m.heapUsed / MB,
      rss: rssMb(coord.pid).rss,
      external: m.external / MB,
      redisUsed: await redisUsedMb(),
      cpu: k === 0 ? Number.NaN : (cpu1 - cpu0) / ((now - tPrev) / 1000),
      leased: fleet.leasedCount(),
      errors,
      load: loadAvg().split(' ')[0]!,
    };
    cpu0 = cpu1;
    tPrev = now;
    samples.push(s);
    console.log(
      [
        s.min.toFixed(1),
        s.heapAfterGc.toFixed(1),
        s.rss.toFixed(1),
        s.external.toFixed(1),
        s.redisUsed.toFixed(1),
        Number.isNaN(s.cpu) ? '-' : `${(s.cpu * 100).toFixed(1)}%`,
        s.leased,
        s.errors,
        s.load,
      ].join('\t'),
    );
  }
  stopping = true;
  await trickle;
  await fleet.stopIdle();
  await polling;
  const half = samples.slice(Math.floor(samples.length / 2));
  const xs = half.map((s) => s.min / 60);
  const verdict = (name: string, ys: number[]) => {
    const { slope, se } = leastSquares(xs, ys);
    const grows = slope >= 1 && slope > 2 * se;
    return `${name}: ${slope >= 0 ? '+' : ''}${slope.toFixed(2)} ± ${se.toFixed(2)} MB/hour (${ys[0]!.toFixed(1)} → ${ys.at(-1)!.toFixed(1)} MB) — ${grows ? 'GROWS' : 'no growth'}`;
  };
  console.log(
    `\nsoak ${(samples.at(-1)!.min).toFixed(1)} min, ${n} workers, ${seeded} jobs seeded (${seedErrors} failed), ${fleet.leasedCount()} leased, ${errors} failed worker calls; load ${loadAvg()}`,
  );
  console.log(
    `slopes over the second half (${half.length} samples, least squares; grows = ≥ 1 MB/hour and > 2 SE):`,
  );
  console.log(
    verdict(
      'heap used after GC',
      half.map((s) => s.heapAfterGc),
    ),
  );
  console.log(
    verdict(
      'RSS',
      half.map((s) => s.rss),
    ),
  );
  console.log(
    verdict(
      'Redis used_memory',
      half.map((s) => s.redisUsed),
    ),
  );
} finally {
  stopping = true;
  await fleet.close();
  await store.close();
  await coord.close();
  info.disconnect();
  redis.proc.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
}
