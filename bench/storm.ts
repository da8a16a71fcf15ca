/**
 * Two scale scenarios of one real coordinator (its own process, its own Redis server), with
 * simulated workers on the real tRPC client, each over its own keep-alive connection:
 *
 *   storm N: N workers long-poll; the coordinator is killed (-9) and restarted on the same port
 *            after a pause; every worker retries with the agent's own jittered backoff. Prints
 *            the kernel's listen-queue overflows and drops during the storm (TcpExt
 *            ListenOverflows / ListenDrops), failed calls by kind, and when each worker had its
 *            first answered lease call after the restart (p50 / p99 / max, and how many never
 *            within the window).
 *   idle N:  N workers long-poll an empty queue. Prints the coordinator's CPU, RSS and Redis
 *            commands/s, the time for a job added to the empty queue to reach a worker, and
 *            what failed on the way.
 *
 *   node --import tsx bench/storm.ts storm 1000 [pause s] [window s]
 *   node --import tsx bench/storm.ts idle 10000 [seconds]
 * With RATCHET_BENCH_COMPILED=1 the coordinator runs bundled to JavaScript, as production runs
 * the compiled CLI, without the TypeScript loader's memory.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type CoordinatorProcess, startCoordinatorProcess } from '../test/support/coordinator-process.ts';
import { SIM_PROFILE } from '../test/support/sim-worker.ts';
import { connectStore, startFleet } from './scale/fleet.ts';
import { loadAvg, pct, rssMb, window } from './scale/procs.ts';
import { freePort, startRedis } from './scale/redis.ts';

const mode = process.argv[2] ?? 'storm';
const n = Number(process.argv[3] ?? 1000);
const ROOT = join(import.meta.dirname, '..');
/** RATCHET_BENCH_COMPILED=1: the coordinator runs bundled to JavaScript, as in production. */
const COMPILED = process.env.RATCHET_BENCH_COMPILED === '1';
const say = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls per Redis command name (INFO commandstats), to see where an idle renewal's cost goes. */
async function commandStats(r: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await r.info('commandstats')).matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g))
    out.set(m[1]!, Number(m[2]));
  return out;
}

/** The kernel's counters of connections it could not queue for accept(). */
function listenDrops(): { overflows: number; drops: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[i]!.split(/\s+/);
  const values = lines[i + 1]!.split(/\s+/).map(Number);
  const v = (k: string) => values[names.indexOf(k)] ?? Number.NaN;
  return { overflows: v('ListenOverflows'), drops: v('ListenDrops') };
}

function kindOf(err: unknown): string {
  const e = err as { cause?: { code?: string }; code?: string; message?: string };
  return e?.cause?.code ?? e?.code ?? String(e?.message ?? err).slice(0, 40);
}

say(`${mode} ${n}${COMPILED ? ' (compiled coordinator)' : ''}; load before start: ${loadAvg()}`);
const redis = await startRedis();
const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-storm-'));
const port = await freePort();
const env = {
  REDIS_URL: redis.url,
  RATCHET_DATA_DIR: dataDir,
  RATCHET_REDIS_PREFIX: 'storm',
  RATCHET_TRACKS: join(ROOT, 'test/fixtures/standin'),
  RATCHET_REBASE_ON_LEASE: '0',
  RATCHET_PORT: String(port),
};
let coord: CoordinatorProcess = await startCoordinatorProcess(env, { compiled: COMPILED });
const info = new Redis(redis.url);
const store = await connectStore(redis.url, 'storm');
const fleet = await startFleet(coord.url, coord.adminToken, SIM_PROFILE);
const out: string[] = [];
try {
  const t0 = performance.now();
  await fleet.grow(n);
  say(`${n} workers registered in ${((performance.now() - t0) / 1000).toFixed(1)} s; load ${loadAvg()}`);
  if (mode === 'storm') {
    const pauseS = Number(process.argv[4] ?? 3);
    const windowS = Number(process.argv[5] ?? 60);
    let restartedAt = Number.POSITIVE_INFINITY;
    let killedAt = Number.POSITIVE_INFINITY;
    const firstAfter = new Array<number>(n).fill(Number.NaN);
    const errors = new Map<string, number>();
    const polling = fleet.idle(n, 20_000, {
      // A long poll answers only after its wait; what counts is when the answered call was sent.
      onAnswer: (i, sentAt) => {
        if (sentAt > killedAt && Number.isNaN(firstAfter[i]!))
          firstAfter[i] = Math.max(0, sentAt - restartedAt);
      },
      onError: (_i, err) => {
        const k = kindOf(err);
        errors.set(k, (errors.get(k) ?? 0) + 1);
      },
    });
    await sleep(8_000);
    const before = listenDrops();
    say(`killing the coordinator (pid ${coord.pid}); load ${loadAvg()}`);
    killedAt = performance.now();
    coord.child.kill('SIGKILL');
    await new Promise((r) => coord.child.once('exit', r));
    await sleep(pauseS * 1000);
    const t1 = performance.now();
    coord = await startCoordinatorProcess(env, { compiled: COMPILED });
    restartedAt = performance.now();
    say(`restarted in ${((restartedAt - t1) / 1000).toFixed(1)} s (pid ${coord.pid})`);
    const deadline = restartedAt + windowS * 1000;
    while (performance.now() < deadline && firstAfter.some(Number.isNaN)) await sleep(250);
    const after = listenDrops();
    await fleet.stopIdle();
    await polling;
    const back = firstAfter.filter((x) => !Number.isNaN(x));
    out.push(
      `workers ${n}; coordinator down ${pauseS} s plus its start-up; load ${loadAvg()}`,
      `listen queue overflows ${after.overflows - before.overflows}, drops ${after.drops - before.drops} (kernel TcpExt, whole machine)`,
      `failed calls by kind: ${[...errors].map(([k, c]) => `${k} ${c}`).join(', ') || 'none'}`,
      `answered again after the restart: ${back.length} of ${n}; time from the restart to the first answered call p50 ${(pct(back, 0.5) / 1000).toFixed(1)} s, p99 ${(pct(back, 0.99) / 1000).toFixed(1)} s, max ${(Math.max(...back) / 1000).toFixed(1)} s; never within ${windowS} s: ${n - back.length}`,
      `coordinator RSS after: ${rssMb(coord.pid).rss.toFixed(0)} MB`,
    );
  } else {
    const seconds = Number(process.argv[4] ?? 15);
    const errors = new Map<string, number>();
    let answers = 0;
    let answersAtWindow = 0;
    const polling = fleet.idle(n, 20_000, {
      onAnswer: () => answers++,
      onError: (_i, err) => {
        const k = kindOf(err);
        errors.set(k, (errors.get(k) ?? 0) + 1);
      },
    });
    // Past the first burst of lease calls and one whole renewal period: the steady state.
    await sleep(30_000);
    const win = await window(coord.pid, info, [process.pid, redis.proc.pid!]);
    answersAtWindow = answers;
    const stats0 = await commandStats(info);
    await sleep(seconds * 1000);
    const w = await win();
    const renewals = answers - answersAtWindow;
    const stats1 = await commandStats(info);
    const top = [...stats1]
      .map(([k, v]) => [k, v - (stats0.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12);
    const wake: number[] = [];
    for (let k = 0; k < 5; k++) {
      const [id] = await store.seed(1);
      const t = Date.now();
      wake.push((await fleet.receivedAt(id!, 10_000)) - t);
      await sleep(300);
    }
    const rss = rssMb(coord.pid);
    await fleet.stopIdle();
    await polling;
    out.push(
      `idle workers ${n}, window ${w.s.toFixed(0)} s; load ${loadAvg()}`,
      `coordinator CPU ${(w.cpu * 100).toFixed(1)}% of a core; bench ${(w.otherCpu[0]! * 100).toFixed(0)}%, redis ${(w.otherCpu[1]! * 100).toFixed(1)}%`,
      `Redis commands/s ${w.cmdsPerS.toFixed(0)}; long polls renewed ${(renewals / w.s).toFixed(0)}/s (${((w.cmdsPerS * w.s) / Math.max(1, renewals)).toFixed(1)} commands each, sweeps included)`,
      `Redis calls by command in the window: ${top.map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `coordinator RSS ${rss.rss.toFixed(0)} MB (peak ${rss.peak.toFixed(0)} MB)`,
      `empty-queue wake p50 ${pct(wake, 0.5)} ms, max ${Math.max(...wake)} ms`,
      `failed calls by kind: ${[...errors].map(([k, c]) => `${k} ${c}`).join(', ') || 'none'}`,
    );
  }
} finally {
  await fleet.close();
  await store.close();
  await coord.close();
  info.disconnect();
  redis.proc.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
}
for (const l of out) console.log(l);
