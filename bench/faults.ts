/**
 * Crashes and outages against real processes, counted. A private redis-server with AOF
 * (appendfsync always), a coordinator in its own process, real `ratchet worker` processes on
 * the stand-in track, and proposals to judge. For `--seconds` a random fault strikes every
 * `--every` seconds: kill -9 of the coordinator (restarted after 0.5–3 s), kill -9 of a worker
 * (restarted on its work dir), a Redis outage (kill -9, restarted from its AOF after 2–5 s),
 * or a graceful coordinator restart. Meanwhile the coordinator also kills itself inside
 * `complete()` with chance `--complete-kill-p` at each of its steps (after the outcome is
 * accepted, after its job is finished, after the run is written: the windows of the issue's
 * lost results). Then faults stop and the work drains.
 *
 * Prints: proposals lost, doubled, stuck, and infrastructure failures charged to proposals
 * (all must be 0), plus what happened and the re-lease time after a silent worker.
 *   node --import tsx bench/faults.ts [--seconds 60] [--every 6] [--workers 2] [--proposals 8]
 *     [--ttl-ms 3000] [--seed 1] [--complete-kill-p 0.05]
 * Exit status: 0 when every count is 0, 1 otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Experiment, FINAL_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { Redis } from 'ioredis';
import { freePort, redisPing } from '../cli/src/up/redis.ts';
import { type CoordinatorProcess, startCoordinatorProcess } from '../test/support/coordinator-process.ts';
import { PYTHON, STANDIN_TRACK } from '../test/support/harness.ts';
import { type Proc, spawnCli } from '../test/support/procs.ts';
import { okOutcome, SIM_PROFILE } from '../test/support/sim-worker.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    every: { type: 'string', default: '6' },
    workers: { type: 'string', default: '2' },
    proposals: { type: 'string', default: '8' },
    'ttl-ms': { type: 'string', default: '3000' },
    'drain-s': { type: 'string', default: '240' },
    seed: { type: 'string', default: '1' },
    'complete-kill-p': { type: 'string', default: '0.05' },
  },
});
const SECONDS = Number(args.seconds);
const EVERY_S = Number(args.every);
const WORKERS = Number(args.workers);
const PROPOSALS = Number(args.proposals);
const TTL_MS = Number(args['ttl-ms']);
const DRAIN_S = Number(args['drain-s']);
/** Chance that the coordinator kills itself at each step of complete() it passes. */
const KILL_IN_COMPLETE_P = Number(args['complete-kill-p']);
let seed = Number(args.seed) >>> 0;
/** Deterministic choices, so that a failing run names its seed. */
function rand(): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The bench's own calls ride out the faults it causes: tried again for up to a minute. */
async function retry<T>(f: () => Promise<T>): Promise<T> {
  for (const end = Date.now() + 60_000; ; ) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(500);
    }
  }
}
const log = (m: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const t0 = Date.now();

const root = await mkdtemp(join(tmpdir(), 'ratchet-faults-bench-'));
const redisDir = join(root, 'redis');
await mkdir(redisDir);
const redisPort = await freePort();
const coordPort = await freePort();
const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
const PREFIX = 'faults';
const ADMIN = `ratchet_admin_${'f'.repeat(40)}`;
const url = `http://127.0.0.1:${coordPort}`;

// ---- Redis with AOF
let redis: ChildProcess | null = null;
async function startRedis() {
  redis = spawn(
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      redisDir,
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && !(await redisPing('127.0.0.1', redisPort)); i++) await sleep(100);
}
async function killRedis() {
  const r = redis;
  if (!r || r.exitCode !== null) return;
  const gone = new Promise((res) => r.once('exit', res));
  r.kill('SIGKILL');
  await gone;
}

// ---- the coordinator, restarted whenever it dies
let coord: CoordinatorProcess | null = null;
let coordWanted = true;
let coordExits = 0;
let starting: Promise<void> | null = null;
/** Set when the fault phase begins (the re-lease probe and the set-up run undisturbed). */
let faultsOn = false;
/** Start the coordinator unless one runs or is starting: one at a time, on one port. */
function startCoord(): Promise<void> {
  if (coord && coord.child.exitCode === null) return Promise.resolve();
  starting ??= (async () => {
    for (;;) {
      try {
        const mine = await startCoordinatorProcess({
          REDIS_URL,
          RATCHET_PORT: String(coordPort),
          RATCHET_HOST: '127.0.0.1',
          RATCHET_DATA_DIR: join(root, 'coordinator'),
          RATCHET_REDIS_PREFIX: PREFIX,
          RATCHET_ADMIN_TOKEN: ADMIN,
          RATCHET_TRACKS: STANDIN_TRACK,
          RATCHET_LEASE_TTL_MS: String(TTL_MS),
          RATCHET_PYTHON: PYTHON,
          // During the fault phase it also dies inside complete() now and then, at one of its steps.
          ...(faultsOn && KILL_IN_COMPLETE_P > 0
            ? {
                RATCHET_FAULT_KILL_AT: 'complete:accepted,complete:job-finished,record:written',
                RATCHET_FAULT_KILL_P: String(KILL_IN_COMPLETE_P),
              }
            : {}),
        });
        coord = mine;
        mine.child.once('exit', () => {
          if (coord !== mine || !coordWanted) return;
          coordExits++;
          coord = null;
          log('coordinator died by itself (inside complete()?); restarting');
          void sleep(1_000).then(startCoord);
        });
        return;
      } catch (e) {
        log(`coordinator did not start (${(e as Error).message}); again in 1 s`);
        await sleep(1_000);
      }
    }
  })().finally(() => {
    starting = null;
  });
  return starting;
}
async function killCoord(signal: NodeJS.Signals) {
  await starting;
  const c = coord;
  if (!c || c.child.exitCode !== null) return;
  coord = null;
  const gone = new Promise((res) => c.child.once('exit', res));
  c.child.kill(signal);
  await gone;
}

// ---- workers, restarted on their own work dirs
const workerLogs: string[] = [];
const workers: (Proc | null)[] = [];
function startWorker(i: number) {
  const p = spawnCli([
    'worker',
    '--coordinator',
    url,
    '--token-file',
    join(root, 'worker.token'),
    '--python',
    PYTHON,
    '--workdir',
    join(root, `w${i}`),
    '--name',
    `w${i}`,
  ]);
  workers[i] = p;
  p.child.once('exit', () => workerLogs.push(p.output()));
}

// ---- set-up
await startRedis();
await startCoord();
const admin = createClient(url, ADMIN);
const { token } = await retry(() => admin.tokens.create.mutate({ role: 'worker', name: 'faults' }));
await writeFile(join(root, 'worker.token'), `${token}\n`, { mode: 0o600 });

/**
 * Re-lease time: a worker leases and goes silent; another long-polls for the same job.
 * It runs on a class no real worker has (its baselines come first), so it touches nothing else.
 */
const releaseTimes: number[] = [];
{
  const c = createClient(url, token);
  const silent = await retry(() =>
    c.workers.register.mutate({ name: 'silent', profile: SIM_PROFILE, tracks: [] }),
  );
  const other = await retry(() =>
    c.workers.register.mutate({ name: 'other', profile: SIM_PROFILE, tracks: [] }),
  );
  for (let i = 0; i < 3; i++) {
    const l = (await retry(() => c.workers.lease.mutate({ workerId: silent.workerId, waitMs: 5_000 }))).lease;
    if (!l) break;
    const at = Date.now();
    // The other worker takes whatever comes, finishing the others at once, until it gets this one.
    for (let n = 0; n < 10; n++) {
      const again = (
        await c.workers.lease
          .mutate({ workerId: other.workerId, waitMs: 3 * TTL_MS })
          .catch(() => ({ lease: null }))
      ).lease;
      if (!again) break;
      if (again.experimentId === l.experimentId) releaseTimes.push(Date.now() - at);
      // Finished with the stand-in's own value, so that its class's baselines are real.
      const done = {
        workerId: other.workerId,
        experimentId: again.experimentId,
        leaseToken: again.leaseToken,
        outcome: okOutcome(1),
      };
      await retry(() => c.workers.complete.mutate(done));
      if (again.experimentId === l.experimentId) break;
    }
  }
  log(`re-lease after a silent worker: ${releaseTimes.map((m) => `${m} ms`).join(', ')} (TTL ${TTL_MS} ms)`);
}

// Proposals: gains and neutral changes of the stand-in's constants.
const patches: string[] = [];
const line = (n: number, from: string, to: string, ctx: [string, string]) =>
  [
    '--- a/train.py',
    '+++ b/train.py',
    `@@ -${n},3 +${n},3 @@`,
    ` ${ctx[0]}`,
    `-${from}`,
    `+${to}`,
    ` ${ctx[1]}`,
    '',
  ].join('\n');
for (let i = 0; i < PROPOSALS; i++) {
  if (i % 3 === 0) {
    const v = (1 - 0.002 * (i + 1)).toFixed(6);
    patches.push(
      line(
        5,
        'QUALITY = 1.000000  # val_bpb follows this constant: lower is better',
        `QUALITY = ${v}  # val_bpb follows this constant: lower is better`,
        ['', 'STEPS = 5'],
      ),
    );
  } else if (i % 3 === 1) {
    patches.push(
      line(9, 'WIDTH = 64', `WIDTH = ${64 + i}`, [
        '# More constants, far enough from QUALITY for patches of each to merge cleanly.',
        'BONUS = 0.000000  # subtracted from val_bpb',
      ]),
    );
  } else {
    patches.push(
      line(
        10,
        'BONUS = 0.000000  # subtracted from val_bpb',
        `BONUS = ${(0.001 * i).toFixed(6)}  # subtracted from val_bpb`,
        ['WIDTH = 64', ''],
      ),
    );
  }
}
const proposalIds: string[] = [];
for (const [i, patch] of patches.entries()) {
  const r = await retry(() =>
    admin.proposals.submit.mutate({
      track: 'standin',
      patch,
      description: `faults ${i}`,
      proposer: 'faults-bench',
    }),
  );
  proposalIds.push(r.proposal.id);
}
for (let i = 0; i < WORKERS; i++) startWorker(i);
log(`${proposalIds.length} proposals, ${WORKERS} workers, faults every ~${EVERY_S} s for ${SECONDS} s`);

// ---- faults
const faults = { coordinatorKill9: 0, workerKill9: 0, redisOutage: 0, coordinatorRestart: 0 };
const faultEnd = Date.now() + SECONDS * 1000;
faultsOn = true;
while (Date.now() < faultEnd) {
  await sleep(EVERY_S * 1000 * (0.5 + rand()));
  const pick = rand();
  if (pick < 0.3) {
    faults.coordinatorKill9++;
    await killCoord('SIGKILL');
    const down = 500 + rand() * 2_500;
    log(`kill -9 coordinator; down ${down.toFixed(0)} ms`);
    await sleep(down);
    await startCoord();
  } else if (pick < 0.6) {
    const i = Math.floor(rand() * WORKERS);
    const w = workers[i];
    if (!w) continue;
    faults.workerKill9++;
    log(`kill -9 worker w${i}`);
    await w.stop('SIGKILL');
    await sleep(1_000);
    startWorker(i);
  } else if (pick < 0.8) {
    faults.redisOutage++;
    const down = 2_000 + rand() * 3_000;
    log(`Redis outage of ${down.toFixed(0)} ms (kill -9, restart from AOF)`);
    await killRedis();
    await sleep(down);
    await startRedis();
  } else {
    faults.coordinatorRestart++;
    log('coordinator restart (SIGTERM)');
    await killCoord('SIGTERM');
    await sleep(500 + rand() * 1_500);
    await startCoord();
  }
}
faultsOn = false;
if (!coord) await startCoord();

// ---- drain
log('faults stop; draining');
const drainEnd = Date.now() + DRAIN_S * 1000;
let proposals: Proposal[] = [];
for (;;) {
  try {
    proposals = await Promise.all(proposalIds.map((id) => admin.proposals.get.query({ id })));
    if (proposals.every((p) => FINAL_PROPOSAL_STATUSES.includes(p.status))) break;
  } catch {}
  if (Date.now() > drainEnd) break;
  await sleep(1_000);
}
log('drained');

// ---- counts
const exps: Experiment[] = await admin.experiments.list.query({ track: 'standin' });
for (const w of workers) if (w) await w.stop('SIGTERM');
const logs = workerLogs.join('\n');
const INFRA =
  /checkout|fetch|couldn't connect|econnrefused|econnreset|socket hang up|coordinator|infrastructure|prepare cache|redis/i;

const recordedReports = new Map<string, number>();
// "finished <id>: <value>" without "(not recorded)": the coordinator answered that it has it.
for (const m of logs.matchAll(/finished (\S+): (\S+)$/gm)) {
  recordedReports.set(m[1]!, (recordedReports.get(m[1]!) ?? 0) + 1);
}
const byId = new Map(exps.map((e) => [e.id, e]));
const ours = new Set(proposalIds);
const finalOf = (e: Experiment | undefined) => e && e.status !== 'queued' && e.status !== 'running';
// Lost: a finished run some worker reported (answered or not) whose experiment ended with no
// result, or a proposal gone.
const reported = new Set([...logs.matchAll(/finished (\S+): /g)].map((m) => m[1]!));
const lostRuns = [...reported].filter((id) => {
  const e = byId.get(id);
  return !finalOf(e) || (e?.status === 'cancelled' && e.verdict !== 'error');
});
const lost = lostRuns.length + proposalIds.filter((id) => !proposals.find((p) => p.id === id)).length;
// Doubled: one experiment's result accepted twice, or counted twice as a baseline sample.
const r = new Redis(REDIS_URL);
const samples = new Map<string, number>();
for (const key of await r.keys(`${PREFIX}:blsamples:*`)) {
  for (const raw of await r.lrange(key, 0, -1)) {
    const id = (JSON.parse(raw) as { experimentId: string }).experimentId;
    samples.set(id, (samples.get(id) ?? 0) + 1);
  }
}
r.disconnect();
const doubled =
  [...recordedReports.values()].filter((n) => n > 1).length +
  [...samples.values()].filter((n) => n > 1).length +
  proposals.filter((p) => new Set(p.experimentIds).size !== p.experimentIds.length).length;
for (const [id, n] of recordedReports)
  if (n > 1) console.log(`  doubled report ${id}: answered ok ${n} times`);
for (const [id, n] of samples) if (n > 1) console.log(`  doubled baseline sample ${id}: ${n} times`);
for (const p of proposals)
  if (new Set(p.experimentIds).size !== p.experimentIds.length) console.log(`  doubled run in ${p.id}`);
for (const id of lostRuns) console.log(`  lost ${id}: reported finished, left ${byId.get(id)?.status}`);
const stuck = proposals.filter((p) => !FINAL_PROPOSAL_STATUSES.includes(p.status)).length;
const charged =
  exps.filter((e) => e.status === 'crash' && INFRA.test(e.crash?.message ?? '')).length +
  proposals.filter((p) => p.status === 'crashed' && INFRA.test(p.verdictReason ?? '')).length;
const errors = exps.filter((e) => e.verdict === 'error');
const repeated = exps.filter((e) => e.attempts > 1).length;
const statuses: Record<string, number> = {};
for (const p of proposals) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

console.log('\n== faults bench ==');
console.log(
  `seed ${args.seed}, ${SECONDS} s of faults every ~${EVERY_S} s, kill inside complete() p=${KILL_IN_COMPLETE_P} per step, TTL ${TTL_MS} ms, load ${load}`,
);
console.log(
  `faults: ${faults.coordinatorKill9} kill -9 of the coordinator, ${faults.workerKill9} of workers, ${faults.redisOutage} Redis outages, ${faults.coordinatorRestart} coordinator restarts; coordinator died by itself ${coordExits} times (kills inside complete() included)`,
);
console.log(
  `proposals: ${proposals.length} (${Object.entries(statuses)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ')})`,
);
console.log(
  `experiments: ${exps.length}, run more than once ${repeated}, ended with an error verdict ${errors.length}`,
);
for (const e of errors) console.log(`  error ${e.id}: ${e.verdictReason}`);
console.log(`re-lease after a silent worker (TTL ${TTL_MS} ms): ${releaseTimes.join(', ')} ms`);
console.log(`lost ${lost}`);
console.log(`doubled ${doubled}`);
console.log(`stuck ${stuck}`);
console.log(`infrastructure failures charged to proposals ${charged}`);
for (const p of proposals.filter((p) => !FINAL_PROPOSAL_STATUSES.includes(p.status)))
  console.log(
    `  stuck ${p.id}: ${p.status} (${p.experimentIds.map((id) => byId.get(id)?.status).join(',')})`,
  );
for (const e of exps.filter((e) => e.status === 'crash'))
  console.log(
    `  crash ${e.id} (${ours.has(e.proposalId ?? '') ? 'proposal' : e.kind}): ${e.crash?.message.slice(0, 160)}`,
  );

coordWanted = false;
await killCoord('SIGTERM');
await killRedis();
await rm(root, { recursive: true, force: true });
process.exit(lost + doubled + stuck + charged === 0 ? 0 : 1);
