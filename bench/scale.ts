/**
 * Load test of one real coordinator (its own process, its own Redis server): simulated
 * workers on the real tRPC client, each over its own keep-alive connection, on zero-work
 * jobs; raw BullMQ in manual mode on the same Redis beside it. Prints, per worker count:
 * lease latency p50/p99, completions/s and their ratio to raw BullMQ, the coordinator's RSS
 * and CPU, and Redis commands/s, busy and idle, and how fast a job added to an empty queue
 * reaches a waiting worker. Asserts nothing.
 *   node --import tsx bench/scale.ts [10,100,1000] [busy seconds]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startCoordinatorProcess } from '../test/support/coordinator-process.ts';
import { SIM_PROFILE } from '../test/support/sim-worker.ts';
import { connectStore, type Fleet, startFleet } from './scale/fleet.ts';
import { loadAvg, pct, rssMb, window } from './scale/procs.ts';
import { rawBullmq } from './scale/raw.ts';
import { startRedis } from './scale/redis.ts';

const levels = (process.argv[2] ?? '10,100,1000').split(',').map(Number);
const busyS = Number(process.argv[3] ?? 10);
const ROOT = join(import.meta.dirname, '..');
const say = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

say(`load before start: ${loadAvg()}`);
const redis = await startRedis();
const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-scale-'));
const prefix = 'scale';
const coord = await startCoordinatorProcess({
  REDIS_URL: redis.url,
  RATCHET_DATA_DIR: dataDir,
  RATCHET_REDIS_PREFIX: prefix,
  RATCHET_TRACKS: join(ROOT, 'test/fixtures/standin'),
  RATCHET_REBASE_ON_LEASE: '0',
});
const info = new Redis(redis.url);
const store = await connectStore(redis.url, prefix);
const fleet: Fleet = await startFleet(coord.url, coord.adminToken, SIM_PROFILE);
const rows: string[] = [];
try {
  for (const n of levels) {
    await fleet.grow(n);
    say(`${n} workers registered; load ${loadAvg()}`);
    // Busy: a queue that never runs dry during the window.
    await store.seed(Math.ceil(busyS * 600) + n * 2);
    const busyWin = await window(coord.pid, info, [process.pid, redis.proc.pid!]);
    const busy = await fleet.run(n, busyS * 1000, 1_000);
    const b = await busyWin();
    const rssBusy = rssMb(coord.pid);
    await store.drain();
    // Idle: every worker long-polls an empty queue.
    const idleWait = fleet.idle(n, 20_000);
    await sleep(3_000);
    const idleWin = await window(coord.pid, info);
    await sleep(8_000);
    const i = await idleWin();
    // A job added to an empty queue, while every worker waits.
    const wake: number[] = [];
    for (let k = 0; k < 5; k++) {
      const [id] = await store.seed(1);
      const t0 = Date.now();
      wake.push((await fleet.receivedAt(id!, 10_000)) - t0);
      await sleep(300);
    }
    await fleet.stopIdle();
    await idleWait;
    const rssIdle = rssMb(coord.pid);
    const raw = await rawBullmq(redis.url, 'rawbench', n, Math.min(busyS, 5));
    const load = loadAvg();
    const row = [
      n,
      `${pct(busy.lat, 0.5).toFixed(0)} / ${pct(busy.lat, 0.99).toFixed(0)} ms`,
      (busy.done / busy.s).toFixed(0),
      raw.perS.toFixed(0),
      `${(busy.done / busy.s / raw.perS).toFixed(3)}x`,
      `${(b.cpu * 100).toFixed(0)}%`,
      `${((b.cpu * 1000) / (busy.done / busy.s)).toFixed(2)} ms`,
      (b.cmdsPerS / (busy.done / busy.s)).toFixed(1),
      `${rssBusy.rss.toFixed(0)} / ${rssIdle.rss.toFixed(0)} / ${rssIdle.peak.toFixed(0)} MB`,
      `${(i.cpu * 100).toFixed(1)}%`,
      i.cmdsPerS.toFixed(0),
      `${pct(wake, 0.5)} / ${Math.max(...wake)} ms`,
      busy.errors,
      b.otherCpu.map((c) => `${(c * 100).toFixed(0)}%`).join(' / '),
      load,
    ].join(' | ');
    rows.push(`| ${row} |`);
    say(`| ${row} |`);
  }
} finally {
  await fleet.close();
  await store.close();
  await coord.close();
  info.disconnect();
  redis.proc.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
}
console.log(`load average at the end: ${loadAvg()} (2 cores, shared: absolute figures are contaminated)`);
console.log(
  '| workers | lease p50 / p99 | completions/s | raw BullMQ/s | ratio | coord CPU busy | CPU per completion | Redis cmds per completion | RSS busy / idle / peak | coord CPU idle | Redis cmds/s idle | empty-queue wake p50 / max | errors | CPU busy: bench / redis | load |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
