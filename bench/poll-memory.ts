/**
 * What a waiting long poll costs the coordinator in memory. One compiled coordinator (its own
 * process, its own Redis server); N simulated workers register (each holds its own keep-alive
 * connection), then every one of them long-polls an empty queue. Heap used after a forced GC
 * and RSS are read three times: before the workers, with N idle connections and no call, and
 * with N waiting lease calls. Prints the cost per connection and per waiting call, and with
 * `--snapshot` the heap's growth per waiting call by constructor (top rows).
 *
 *   node --import tsx bench/poll-memory.ts [N 2000] [--snapshot]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinatorProcess } from '../test/support/coordinator-process.ts';
import { SIM_PROFILE } from '../test/support/sim-worker.ts';
import { startFleet } from './scale/fleet.ts';
import { diffRows, summariseSnapshot } from './scale/heap-summary.ts';
import { loadAvg, rssMb } from './scale/procs.ts';
import { freePort, startRedis } from './scale/redis.ts';

const n = Number(process.argv[2] ?? 2000);
const snapshots = process.argv.includes('--snapshot');
const ROOT = join(import.meta.dirname, '..');
const say = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KB = 1024;

say(`poll-memory ${n}; load ${loadAvg()}`);
const redis = await startRedis();
const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-pollmem-'));
const heapDir = await mkdtemp(join(tmpdir(), 'ratchet-pollmem-heap-'));
const coord = await startCoordinatorProcess(
  {
    REDIS_URL: redis.url,
    RATCHET_DATA_DIR: dataDir,
    RATCHET_REDIS_PREFIX: 'pollmem',
    RATCHET_TRACKS: join(ROOT, 'test/fixtures/standin'),
    RATCHET_REBASE_ON_LEASE: '0',
    RATCHET_PORT: String(await freePort()),
    RATCHET_DEBUG_MEMORY: '1',
    ...(snapshots ? { RATCHET_DEBUG_HEAP_DIR: heapDir } : {}),
  },
  {
    compiled: true,
    nodeArgs: ['--expose-gc', ...(process.env.RATCHET_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)],
  },
);
const fleet = await startFleet(coord.url, coord.adminToken, SIM_PROFILE);
try {
  // One worker's register and lease paths warm (code, caches) before the first reading.
  await fleet.grow(1);
  const warm = fleet.idle(1, 500);
  await sleep(2_000);
  await fleet.stopIdle();
  await warm;
  const read = async () => {
    const { memory, snapshot } = await coord.memoryAfterGc();
    return {
      heap: memory.heapUsed,
      total: memory.heapTotal,
      ext: memory.external,
      rss: rssMb(coord.pid).rss * KB * KB,
      snapshot,
    };
  };
  const m0 = await read();
  await fleet.grow(n + 1);
  await sleep(3_000);
  const m1 = await read();
  const polling = fleet.idle(n + 1, 60_000);
  // Every call sent and waiting (a renewal comes only after 60 s).
  await sleep(Math.max(10_000, n * 4));
  const m2 = await read();
  await fleet.stopIdle();
  await polling;
  const f = (b: number) => `${(b / KB).toFixed(1)} KB`;
  console.log(`waiting calls ${n}; load ${loadAvg()}`);
  console.log(
    `heap after GC: ${(m0.heap / KB / KB).toFixed(1)} → ${(m1.heap / KB / KB).toFixed(1)} → ${(m2.heap / KB / KB).toFixed(1)} MB (no workers → ${n} idle connections → ${n} waiting calls)`,
  );
  const mb = (b: number) => (b / KB / KB).toFixed(1);
  console.log(`heap total:    ${mb(m0.total)} → ${mb(m1.total)} → ${mb(m2.total)} MB`);
  console.log(
    `RSS:           ${(m0.rss / KB / KB).toFixed(1)} → ${(m1.rss / KB / KB).toFixed(1)} → ${(m2.rss / KB / KB).toFixed(1)} MB`,
  );
  console.log(`per idle connection: heap ${f((m1.heap - m0.heap) / n)}, RSS ${f((m1.rss - m0.rss) / n)}`);
  console.log(`per waiting call:    heap ${f((m2.heap - m1.heap) / n)}, RSS ${f((m2.rss - m1.rss) / n)}`);
  if (snapshots && m1.snapshot && m2.snapshot) {
    const rows = diffRows(await summariseSnapshot(m1.snapshot), await summariseSnapshot(m2.snapshot), n);
    console.log('heap growth per waiting call by constructor (count, bytes):');
    for (const r of rows.slice(0, 40))
      console.log(`  ${r.count.toFixed(2)}\t${r.bytes.toFixed(0)}\t${r.name}`);
  }
} finally {
  await fleet.close();
  await coord.close();
  redis.proc.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
  if (process.env.RATCHET_BENCH_KEEP_HEAP) console.log(`snapshots kept in ${heapDir}`);
  else await rm(heapDir, { recursive: true, force: true });
}
