/**
 * A simulated research landscape through the real coordinator and queue (HTTP, Redis,
 * BullMQ, git): val_bpb = f(hyperparameters) + Gaussian noise of known σ, evaluated by
 * simulated workers, proposals from the real mutation proposer. Prints figures.
 *   node --import tsx bench/research.ts
 *   BENCH_SEED=1 …   another search (the proposer's and the workers' seeds); a trial per seed
 *   RATCHET_ALPHA=… RATCHET_REVERIFY_ALPHA=… RATCHET_NOISE_K=… RATCHET_MAX_REPLICATES=…
 *   RATCHET_BASELINE_RUNS=…   the acceptance rule's settings, to compare them side by side
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createMutationProposer, readTrackDir } from '@ratchet/coordinator';
import { unifiedDiff } from '@ratchet/proposers';
import { FINAL_PROPOSAL_STATUSES } from '@ratchet/shared';
import { setup, teardown } from '../test/support/global-redis.ts';
import { startCoordinator, type TestCoordinator, waitFor } from '../test/support/harness.ts';
import { applyConstants, constantsOf, createSimWorker } from '../test/support/sim-worker.ts';

const SIGMA = 0.003;
const l2 = (x: number | undefined, opt: number) => Math.log2((x ?? opt) / opt) ** 2;

/** A synthetic train.py: val_bpb = f(constants) + noise; NOOP has no effect. */
interface Landscape {
  train: string;
  f: (c: Record<string, number>) => number;
}

/** Four knobs: few independent directions to improve at any time. */
const TOY: Landscape = {
  train: `# A synthetic training file: val_bpb is a function of these constants.
LEARNING_RATE = 0.0005
WEIGHT_DECAY = 0.8
WIDTH = 32
DEPTH = 2
NOOP = 1.0  # has no effect on val_bpb
`,
  f: (c) =>
    1.0 +
    0.02 * l2(c.LEARNING_RATE, 0.004) +
    0.01 * l2(c.WEIGHT_DECAY, 0.1) +
    0.015 * l2(c.WIDTH, 256) +
    0.01 * ((c.DEPTH ?? 6) - 6) ** 2,
};

/** The knobs of upstream's train.py (UPSTREAM.md), each a little off its optimum. */
const UPSTREAM: Landscape = {
  train: `# A synthetic training file shaped like upstream's: val_bpb is a function of these constants.
DEPTH = 6
ASPECT_RATIO = 32
HEAD_DIM = 64
TOTAL_BATCH_SIZE = 131072
DEVICE_BATCH_SIZE = 32
EMBEDDING_LR = 0.15
UNEMBEDDING_LR = 0.001
MATRIX_LR = 0.01
SCALAR_LR = 0.1
WEIGHT_DECAY = 0.05
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.99
WARMUP_RATIO = 0.1
WARMDOWN_RATIO = 0.15
FINAL_LR_FRAC = 0.4
NOOP = 1.0  # has no effect on val_bpb
`,
  f: (c) =>
    1.0 +
    0.006 * ((c.DEPTH ?? 8) - 8) ** 2 +
    0.01 * l2(c.ASPECT_RATIO, 64) +
    0.008 * l2(c.HEAD_DIM, 128) +
    0.01 * l2(c.TOTAL_BATCH_SIZE, 524288) +
    0.004 * l2(c.DEVICE_BATCH_SIZE, 128) +
    0.008 * l2(c.EMBEDDING_LR, 0.6) +
    0.008 * l2(c.UNEMBEDDING_LR, 0.004) +
    0.012 * l2(c.MATRIX_LR, 0.04) +
    0.005 * l2(c.SCALAR_LR, 0.5) +
    0.006 * l2(c.WEIGHT_DECAY, 0.2) +
    0.008 * l2(1 - (c.ADAM_BETA1 ?? 0.8), 0.2) +
    0.006 * l2(1 - (c.ADAM_BETA2 ?? 0.95), 0.05) +
    0.004 * l2(c.WARMUP_RATIO, 0.025) +
    0.008 * l2(c.WARMDOWN_RATIO, 0.6) +
    0.006 * l2(c.FINAL_LR_FRAC, 0.1),
};

const LANDSCAPE_NAME = process.env.LANDSCAPE === 'toy' ? 'toy' : 'upstream';
const L = LANDSCAPE_NAME === 'toy' ? TOY : UPSTREAM;
const TRAIN = L.train;
const landscape = L.f;
const START = landscape(constantsOf(TRAIN));
const TARGET = START - 0.6 * (START - 1.0);

async function simTrack(): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-sim-track-'));
  await writeFile(join(dir, 'train.py'), TRAIN);
  await writeFile(
    join(dir, 'ratchet.json'),
    JSON.stringify({
      id: 'sim',
      editable: ['train.py'],
      run: { default: ['python', 'train.py'] },
      budgetS: 300,
      hardTimeoutS: 600,
    }),
  );
  const files = await readTrackDir(dir);
  await rm(dir, { recursive: true, force: true });
  return files;
}

/** Another search of the same landscape (BENCH_SEED=1, 2…): the proposer's and the workers' seeds. */
const SEED = Number(process.env.BENCH_SEED ?? 0);

const RULE_SETTINGS = [
  'RATCHET_ALPHA',
  'RATCHET_REVERIFY_ALPHA',
  'RATCHET_NOISE_K',
  'RATCHET_MAX_REPLICATES',
  'RATCHET_BASELINE_RUNS',
];

async function withCoordinator<T>(fn: (t: TestCoordinator) => Promise<T>): Promise<T> {
  const t = await startCoordinator({
    RATCHET_TRACKS: '',
    RATCHET_LOG_LEVEL: 'silent',
    RATCHET_LEASE_TTL_MS: '10000',
    // The acceptance rule's settings, when given, to compare them side by side.
    ...Object.fromEntries(RULE_SETTINGS.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : []))),
  });
  try {
    await t.admin.tracks.add.mutate({ files: await simTrack() });
    return await fn(t);
  } finally {
    await t.close();
  }
}

function startSims(t: TestCoordinator, token: string, n: number, runMs: number) {
  const sims = Array.from({ length: n }, (_, i) =>
    createSimWorker({
      url: t.url,
      token,
      name: `sim${i}`,
      file: 'train.py',
      landscape,
      sigma: SIGMA,
      seed: 1000 + 101 * SEED + i * 7,
      runMs,
    }),
  );
  const runs = sims.map((s) => s.run());
  return {
    sims,
    async stop() {
      for (const s of sims) s.stop();
      await Promise.allSettled(runs);
    },
  };
}

async function falseAccepts(trials: number) {
  return withCoordinator(async (t) => {
    const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'sim', trusted: true });
    const pool = startSims(t, token, 4, 0);
    const ids: string[] = [];
    for (let i = 0; i < trials; i++) {
      const head = (await t.admin.tracks.get.query({ id: 'sim' })).head;
      // Diff against the head's own file: once a null patch has merged (a false accept),
      // the head differs from TRAIN, and the next ones must still apply to be counted.
      const current = (await t.admin.tracks.file.query({ id: 'sim', commit: head, path: 'train.py' }))
        .content;
      const patch = unifiedDiff(
        'train.py',
        current,
        current.replace(/^NOOP = .*$/m, `NOOP = ${(2 + i).toFixed(1)}`),
      );
      const r = await t.admin.proposals.submit.mutate({
        track: 'sim',
        base: head,
        patch,
        description: `null ${i}`,
        proposer: 'bench',
      });
      ids.push(r.proposal.id);
    }
    const all = () => Promise.all(ids.map((id) => t.admin.proposals.get.query({ id })));
    let done: Awaited<ReturnType<typeof all>>;
    try {
      done = await waitFor(
        async () => {
          const ps = await all();
          return ps.every((p) => FINAL_PROPOSAL_STATUSES.includes(p.status)) ? ps : null;
        },
        600_000,
        'null proposals',
      );
    } catch (e) {
      // Say which proposals were left open, and how, rather than only that time ran out.
      const open = (await all()).filter((p) => !FINAL_PROPOSAL_STATUSES.includes(p.status));
      console.log(
        `null patches still open: ${open.length}; ${open
          .slice(0, 10)
          .map((p) => `${p.description} ${p.status}: ${p.verdictReason ?? ''}`)
          .join('; ')}`,
      );
      throw e;
    } finally {
      // Stopped before the coordinator closes: a simulated worker calling a closed
      // coordinator would end the process with its own error instead.
      await pool.stop();
    }
    const exps = await t.admin.experiments.list.query({ track: 'sim' });
    // The naive rule keeps a run that is strictly lower than a baseline run: over every
    // (screen, baseline run of the same base) pair, how often would it keep a null patch?
    let naivePairs = 0;
    let naiveKept = 0;
    let runs = 0;
    for (const p of done) {
      const mine = exps.filter((e) => e.proposalId === p.id && e.metrics);
      runs += mine.length;
      const screen = mine.find((e) => e.stage === 'screen');
      if (!screen?.metrics) continue;
      for (const b of exps.filter((e) => e.kind === 'baseline' && e.base === screen.base && e.metrics)) {
        naivePairs++;
        if (screen.metrics.val_bpb < b.metrics!.val_bpb) naiveKept++;
      }
    }
    const naive = naivePairs > 0 ? naiveKept / naivePairs : Number.NaN;
    const merged = done.filter((p) => p.status === 'merged').length;
    return { trials, merged, naive, runsPerProposal: runs / trials };
  });
}

async function search(workers: number, runMs: number, capMs: number) {
  return withCoordinator(async (t) => {
    const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'sim', trusted: true });
    const proposer = createMutationProposer(t.c.deps, {
      track: 'sim',
      python: null,
      intervalMs: 100,
      random: seeded(42 + SEED),
      // Proposals kept open per worker; unset: the coordinator's default (`openTarget`).
      ...(process.env.PER_WORKER ? { perWorker: Number(process.env.PER_WORKER) } : {}),
    });
    const pool = startSims(t, token, workers, runMs);
    // Where the coordinator's process spends itself (the simulated workers share it): CPU
    // time per wall second, and how much of the wall time its event loop was busy.
    const cpu0 = process.cpuUsage();
    const train0 = t.c.deps.merge.use();
    const elu0 = performance.eventLoopUtilization();
    proposer.start();
    const t0 = Date.now();
    let reached: number | null = null;
    let last = '';
    while (Date.now() - t0 < capMs) {
      const head = (await t.admin.tracks.get.query({ id: 'sim' })).head;
      const file = (await t.admin.tracks.file.query({ id: 'sim', commit: head, path: 'train.py' })).content;
      const value = landscape(applyConstants(constantsOf(file), null));
      if (process.env.BENCH_DEBUG && head !== last)
        console.log(
          `  ${((Date.now() - t0) / 1000).toFixed(1)} s: head ${head.slice(0, 7)} at ${value.toFixed(4)}`,
        );
      last = head;
      if (value <= TARGET) {
        reached = Date.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    proposer.close();
    const wall = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const load = {
      cpu: (cpu.user + cpu.system) / 1000 / wall,
      elu: performance.eventLoopUtilization(elu0).utilization,
    };
    // The merge train: merges, batch merges and lease-time composes, each queued and held.
    const train = Object.entries(t.c.deps.merge.use()).map(([k, u]) => {
      const u0 = train0[k as keyof typeof train0];
      const n = u.calls - u0.calls;
      const avg = (ms: number) => (n > 0 ? (ms / n).toFixed(0) : '-');
      return `${k} ${n} (queued ${avg(u.waitMs - u0.waitMs)} ms, held ${avg(u.holdMs - u0.holdMs)} ms on average)`;
    });
    const time = { training: 0, idle: 0, leasing: 0, reporting: 0 };
    for (const s of pool.sims)
      for (const k of Object.keys(time) as (keyof typeof time)[]) time[k] += s.time[k];
    await pool.stop();
    const ps = await t.admin.proposals.list.query({ track: 'sim', limit: 1000 });
    const exps = await t.admin.experiments.list.query({ track: 'sim' });
    const merged = ps.filter((p) => p.status === 'merged');
    const trueGains = merged.length;
    // Accepted winners that never reached the frontier although their change is not on it.
    const lostStale = ps.filter(
      (p) =>
        p.status === 'stale' &&
        p.decision?.verdict === 'accept' &&
        !/already holds/.test(p.verdictReason ?? ''),
    ).length;
    const duplicates = ps.filter(
      (p) => p.status === 'stale' && /already holds/.test(p.verdictReason ?? ''),
    ).length;
    const conflicts = ps.filter((p) => p.status === 'conflict').length;
    const screens = (id: string) => exps.filter((e) => e.proposalId === id && e.stage === 'screen').length;
    const rebasedAtLease = merged.filter((p) => p.rebases > 0 && screens(p.id) === 1).length;
    const reverified = merged.filter((p) => screens(p.id) > 1).length;
    const notRun = exps.filter((e) => e.status === 'cancelled').length;
    // Runs by phase: what the workers' training time went to.
    const done = exps.filter((e) => e.recordedAt !== null);
    const phases = {
      baseline: done.filter((e) => e.kind === 'baseline').length,
      screen: done.filter((e) => e.kind === 'candidate' && !e.batchId && e.stage === 'screen').length,
      confirm: done.filter((e) => e.kind === 'candidate' && !e.batchId && e.stage === 'confirm').length,
      batch: done.filter((e) => e.batchId).length,
      stale: done.filter((e) => e.verdict === 'stale').length,
      // Baselines of commits that no candidate ran on: they only added to the noise estimate.
      unusedBaseline: done.filter(
        (e) => e.kind === 'baseline' && !done.some((c) => c.kind === 'candidate' && c.base === e.base),
      ).length,
    };
    // A batch's runs: its first, and replicates near the threshold.
    const records = await t.c.deps.store.batches.list('sim');
    const sizeOf = new Map(records.map((b) => [b.id, b.members.length]));
    const batches = exps.filter((e) => e.batchId !== null && e.recordedAt !== null);
    const size = (e: (typeof exps)[number]) => sizeOf.get(e.batchId ?? '') ?? 0;
    if (process.env.BENCH_DEBUG)
      for (const e of batches.filter((x) => size(x) > 1 && x.verdict !== 'keep'))
        console.log(
          `  batch ${e.batchId} ${e.stage} ${e.metrics?.val_bpb.toFixed(4)} ${e.verdict}: ${e.verdictReason}`,
        );
    if (process.env.BENCH_TRACE) {
      // Every run in the order it was recorded: when it was queued, leased and recorded.
      const byId = new Map(ps.map((p) => [p.id, p]));
      const sec = (x: number | null) => (x === null ? '   -  ' : ((x - t0) / 1000).toFixed(1).padStart(6));
      for (const e of [...exps].sort(
        (a, b) => (a.recordedAt ?? a.createdAt) - (b.recordedAt ?? b.createdAt),
      )) {
        const p = e.proposalId ? byId.get(e.proposalId) : null;
        const who = e.batchId
          ? `batch ${e.batchId.slice(-6)} (${size(e)})`
          : (p?.description ?? '').slice(0, 40);
        console.log(
          `  ${sec(e.createdAt)}${sec(e.leasedAt)}${sec(e.recordedAt)} ${e.kind.padEnd(9)} ${e.stage.padEnd(8)} ${e.base.slice(0, 7)} ${e.status.padEnd(9)} ${String(e.verdict).padEnd(10)} ${who} | ${p?.status ?? ''} ${(e.verdictReason ?? '').slice(0, 90)}`,
        );
      }
    }
    const batchInfo = {
      runs: batches.length,
      members: batches.reduce((a, e) => a + size(e), 0),
      merged: batches.filter((e) => e.verdict === 'keep' && size(e) > 1).length,
      dissolved: batches.filter((e) => size(e) > 1 && e.verdict !== 'keep').length,
    };
    return {
      workers,
      reachedMs: reached,
      runs: exps.filter((e) => e.recordedAt !== null).length,
      merged: trueGains,
      rebasedAtLease,
      reverified,
      notRun,
      batchInfo,
      phases,
      load,
      train,
      proposals: ps.length,
      time,
      lostStale,
      duplicates,
      conflicts,
    };
  });
}

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

await setup();
try {
  console.log(
    `landscape: ${LANDSCAPE_NAME}, ${Object.keys(constantsOf(TRAIN)).length - 1} knobs; start ${START.toFixed(4)}, optimum 1.0000, target ${TARGET.toFixed(4)}, noise σ ${SIGMA}; search seed ${SEED}`,
  );
  const trials = Number(process.env.TRIALS ?? 120);
  const fa = trials > 0 ? await falseAccepts(trials) : null;
  if (fa)
    console.log(
      `null patches: ${fa.trials}; merged by ratchet: ${fa.merged} (${((100 * fa.merged) / fa.trials).toFixed(1)}%); ` +
        `the naive rule "strictly lower than the baseline" would keep ${(100 * fa.naive).toFixed(1)}%; ` +
        `runs per null patch ${fa.runsPerProposal.toFixed(2)}`,
    );
  const runMs = Number(process.env.RUN_MS ?? 1500);
  const results = [];
  for (const n of (process.env.WORKERS ?? '1,4,16').split(',').map(Number)) {
    const r = await search(n, runMs, Number(process.env.CAP_MS ?? 600_000));
    results.push(r);
    console.log(
      `workers ${String(n).padStart(2)}: target ${r.reachedMs === null ? 'not reached' : `reached in ${(r.reachedMs / 1000).toFixed(1)} s`}; ` +
        `${r.runs} runs, ${r.merged} merged (${r.rebasedAtLease} rebased when leased, ${r.reverified} after rebase + re-verification), ` +
        `${(r.runs / Math.max(1, r.merged)).toFixed(1)} runs per merge; conflicts (reported, with hunk) ${r.conflicts}; ` +
        `winners already on the head ${r.duplicates}; dropped before running (conflict or duplicate on the new head) ${r.notRun}; ` +
        `gains lost to stale bases ${r.lostStale}; re-verification batches run ${r.batchInfo.runs} ` +
        `(${r.batchInfo.members} members; ${r.batchInfo.merged} merged two or more at once, ${r.batchInfo.dissolved} dissolved)`,
    );
    const all = Object.values(r.time).reduce((a, b) => a + b, 0) || 1;
    const pct = (x: number) => `${((100 * x) / all).toFixed(0)}%`;
    console.log(
      `  workers' time: training ${pct(r.time.training)}, waiting for work ${pct(r.time.idle)}, ` +
        `leasing ${pct(r.time.leasing)}, reporting ${pct(r.time.reporting)}`,
    );
    console.log(
      `  runs by phase: baseline ${r.phases.baseline}, screen ${r.phases.screen}, confirm ${r.phases.confirm}, ` +
        `batch ${r.phases.batch}, stale (ran on a head that moved) ${r.phases.stale}; ` +
        `baselines of commits no candidate ran on ${r.phases.unusedBaseline}; proposals ${r.proposals}; ` +
        `coordinator process: ${r.load.cpu.toFixed(2)} CPU-s per s, event loop busy ${(100 * r.load.elu).toFixed(0)}%`,
    );
    console.log(`  merge train: ${r.train.join('; ')}`);
  }
  const one = results[0]?.reachedMs;
  for (const r of results.slice(1)) {
    if (one && r.reachedMs) {
      console.log(
        `parallel efficiency at ${r.workers}: ${(one / r.reachedMs / r.workers).toFixed(2)} (speed-up ${(one / r.reachedMs).toFixed(1)}x)`,
      );
    }
  }
} finally {
  await teardown();
}
