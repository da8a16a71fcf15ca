/**
 * Runs the real `ratchet up` (private Redis, coordinator, local worker, mutation search) for
 * a given time on a fresh data dir, then re-runs the starting and the final commit afresh
 * (new seeds, interleaved) and prints: starting and final val_bpb from those re-runs, merges,
 * runs per merge, the noise σ, time to the first candidate run and to the first merge.
 * Writes the trajectory as TSV (one row per run, one per merge) and as an SVG picture.
 *
 *   node --import tsx bench/up.ts [--minutes 15] [--budget S] [--track-dir DIR]
 *     [--fresh 3] [--out DIR] [--null]
 *
 * --null runs a track on which no change can help: every constant of the track is fixed, and
 * the search may only edit constants that nothing reads. Any merge there is a false accept.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Experiment, type Proposal, parseRunLog } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { CLI, PYTHON, ROOT, TSX_LOADER } from '../test/support/harness.ts';
import { chartSvg } from './up-chart.ts';
import { nullTrack } from './up-null.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '15' },
    budget: { type: 'string' },
    'track-dir': { type: 'string' },
    fresh: { type: 'string', default: '3' },
    out: { type: 'string' },
    null: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const freshRuns = Number(values.fresh);
if (!(minutes > 0) || !Number.isInteger(freshRuns) || freshRuns < 1) {
  console.error(
    'usage: bench/up.ts [--minutes M>0] [--fresh N>=1] [--budget S] [--track-dir DIR] [--out DIR] [--null]',
  );
  process.exit(2);
}
const load = () => loadavg()[0]!.toFixed(2);
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const outDir = resolve(values.out ?? join('bench', 'out', `up-${stamp}`));
await mkdir(outDir, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'ratchet-bench-up-'));
const dataDir = join(work, 'data');
const cache = join(work, 'cache');
let trackDir = values['track-dir'] ? resolve(values['track-dir']) : undefined;
if (values.null)
  trackDir = await nullTrack(trackDir ?? join(ROOT, 'tracks', 'tiny-cpu'), join(work, 'null-track'));

const args = ['up', '--data-dir', dataDir, '--port', '0'];
if (values.budget) args.push('--budget', values.budget);
if (trackDir) args.push('--track-dir', trackDir);
const env = {
  ...process.env,
  XDG_CACHE_HOME: cache,
  REDIS_URL: '',
  RATCHET_PYTHON: process.env.RATCHET_PYTHON ?? PYTHON,
};
console.log(
  `bench up: ${minutes} min of ratchet up ${args.slice(1).join(' ')}; ${cpus().length} CPUs, load ${load()}`,
);
const t0 = Date.now();
const up = spawn(process.execPath, ['--import', TSX_LOADER, CLI, ...args], {
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
up.stdout.on('data', (d: Buffer) => {
  log += d.toString();
});
up.stderr.on('data', (d: Buffer) => {
  log += d.toString();
});
const exited = new Promise<number | null>((r) => up.once('exit', (c) => r(c)));
const loads: number[] = [];
const sampler = setInterval(() => loads.push(loadavg()[0]!), 10_000);

const url = await new Promise<string>((res, rej) => {
  const timer = setInterval(() => {
    const m = /API and git: (http:\/\/\S+)/.exec(log);
    if (m) {
      clearInterval(timer);
      res(m[1]!);
    } else if (up.exitCode !== null) {
      clearInterval(timer);
      rej(new Error(`ratchet up exited (${up.exitCode}):\n${log}`));
    }
  }, 200);
});
const trackId = /track (\S+): /.exec(log)?.[1] ?? 'tiny-cpu';
const admin = createClient(url, (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim());
await new Promise((r) => setTimeout(r, Math.max(0, t0 + minutes * 60_000 - Date.now())));
const exps = (await admin.experiments.list.query({ track: trackId })) as Experiment[];
const props = (await admin.proposals.list.query({ track: trackId, limit: 1000 })) as Proposal[];
up.kill('SIGINT');
await exited;
clearInterval(sampler);
await writeFile(join(outDir, 'up.log'), log);

// ---- the trajectory
const done = exps.filter((e) => e.recordedAt !== null).sort((a, b) => a.recordedAt! - b.recordedAt!);
const mins = (ms: number) => (ms - t0) / 60_000;
const byId = new Map(props.map((p) => [p.id, p]));
const rows = ['minutes\tkind\tstage\tcommit\tdescription\tval_bpb\tdelta\tnum_steps\tverdict'];
for (const e of done) {
  const p = e.proposalId ? byId.get(e.proposalId) : undefined;
  rows.push(
    [
      mins(e.recordedAt!).toFixed(2),
      e.kind,
      e.stage,
      e.base.slice(0, 7),
      e.kind === 'baseline' ? 'baseline' : (p?.description ?? ''),
      e.metrics?.val_bpb.toFixed(6) ?? e.status,
      e.delta?.toFixed(6) ?? '',
      e.metrics?.num_steps ?? '',
      e.verdict ?? '',
    ].join('\t'),
  );
}
await writeFile(join(outDir, 'trajectory.tsv'), `${rows.join('\n')}\n`);
const merged = props
  .filter((p) => p.status === 'merged' && p.mergedCommit)
  .map((p) => {
    const runs = done.filter((e) => e.proposalId === p.id);
    return { p, at: Math.max(...runs.map((e) => e.recordedAt!)), runs: runs.length };
  })
  .sort((a, b) => a.at - b.at);
const mrows = ['minutes\tcommit\tdescription\tcandidate_mean\tbaseline_mean\tdelta\truns'];
for (const m of merged) {
  const d = m.p.decision;
  mrows.push(
    [
      mins(m.at).toFixed(2),
      m.p.mergedCommit!.slice(0, 7),
      m.p.description,
      d?.candidateMean?.toFixed(6),
      d?.baselineMean?.toFixed(6),
      d?.delta?.toFixed(6),
      m.runs,
    ].join('\t'),
  );
}
await writeFile(join(outDir, 'merges.tsv'), `${mrows.join('\n')}\n`);

// σ: pooled over the baseline runs of each commit (as the coordinator estimates it).
const groups = new Map<string, number[]>();
for (const e of done) {
  if (e.kind !== 'baseline' || !e.metrics) continue;
  const k = `${e.base} ${e.hardwareClass}`;
  groups.set(k, [...(groups.get(k) ?? []), e.metrics.val_bpb]);
}
let ss = 0;
let df = 0;
for (const g of groups.values()) {
  const m = g.reduce((a, b) => a + b, 0) / g.length;
  ss += g.reduce((a, x) => a + (x - m) ** 2, 0);
  df += g.length - 1;
}
const sigma = df > 0 ? Math.sqrt(ss / df) : Number.NaN;

// ---- fresh re-runs of the starting and the final commit, interleaved
const git = (...a: string[]) =>
  execFileSync('git', ['-C', join(dataDir, 'frontier.git'), ...a], { encoding: 'utf8' }).trim();
const commits = git('log', '--reverse', '--format=%H', `tracks/${trackId}`).split('\n');
const start = commits[0]!;
const final = commits[commits.length - 1]!;
const budgetS = Number(/track \S+: (\d+) s budget/.exec(log)?.[1] ?? 20);
async function freshRun(commit: string, seed: number): Promise<number> {
  const dir = join(work, `fresh-${commit.slice(0, 7)}-${seed}`);
  await mkdir(dir, { recursive: true });
  for (const f of git('ls-tree', '--name-only', commit).split('\n'))
    if (f.endsWith('.py')) await writeFile(join(dir, f), git('show', `${commit}:${f}`));
  let text = '';
  try {
    text = execFileSync(env.RATCHET_PYTHON!, ['train.py'], {
      cwd: dir,
      env: {
        ...env,
        RATCHET_TIME_BUDGET_S: String(budgetS),
        RATCHET_SEED: String(seed),
        PYTHONUNBUFFERED: '1',
      },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    text = String((e as { stdout?: string }).stdout ?? '');
  }
  const r = parseRunLog(text, { exitCode: 0 });
  return r.status === 'ok' ? r.metrics.val_bpb : Number.NaN;
}
const freshStart: number[] = [];
const freshFinal: number[] = [];
const runsT0 = Date.now();
for (let i = 0; i < freshRuns; i++) {
  // Alternate the order so that a drift in the machine's load falls on both alike.
  const pair = i % 2 === 0 ? ([start, final] as const) : ([final, start] as const);
  for (const c of pair) (c === start ? freshStart : freshFinal).push(await freshRun(c, 9001 + i));
  if (start === final) break;
}
if (start === final) freshFinal.push(...freshStart);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) =>
  xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : Number.NaN;
const s0 = mean(freshStart);
const s1 = mean(freshFinal);

// ---- the picture
const frontier: { t: number; valBpb: number }[] = [];
for (const c of commits) {
  const g = done.filter((e) => e.kind === 'baseline' && e.base === c && e.metrics);
  if (g.length === 0) continue;
  frontier.push({
    t: mins(Math.min(...g.map((e) => e.recordedAt!))),
    valBpb: mean(g.map((e) => e.metrics!.val_bpb)),
  });
}
const svg = chartSvg({
  title: `ratchet up, ${trackId}: ${minutes} min, ${merged.length} merged, val_bpb ${s0.toFixed(3)} → ${s1.toFixed(3)}`,
  minutes,
  points: done
    .filter((e) => e.metrics)
    .map((e) => ({
      t: mins(e.recordedAt!),
      valBpb: e.metrics!.val_bpb,
      kind:
        e.kind === 'baseline'
          ? ('baseline' as const)
          : e.verdict === 'keep'
            ? ('kept' as const)
            : ('candidate' as const),
    })),
  frontier,
  fresh: [
    ...freshStart.map((v) => ({ t: 0, valBpb: v, label: 'start' })),
    ...freshFinal.map((v) => ({ t: minutes, valBpb: v, label: 'final' })),
  ],
});
await writeFile(join(outDir, 'trajectory.svg'), svg);

const firstCandidate = done.find((e) => e.kind === 'candidate');
const candidates = done.filter((e) => e.kind === 'candidate').length;
const summary = [
  `track ${trackId}, budget ${budgetS} s, ${minutes} min of ratchet up; load (1-min avg) mean ${mean(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} on ${cpus().length} CPUs`,
  `runs: ${done.length} (${done.length - candidates} baseline, ${candidates} candidate); proposals ${props.length}`,
  `first candidate run finished at ${firstCandidate ? `${mins(firstCandidate.recordedAt!).toFixed(1)} min` : 'never'}; first merge at ${merged[0] ? `${mins(merged[0].at).toFixed(1)} min` : 'never'}`,
  `merges: ${merged.length}; candidate runs per merge ${merged.length ? (candidates / merged.length).toFixed(1) : 'n/a'}; runs per merged proposal ${merged.length ? mean(merged.map((m) => m.runs)).toFixed(1) : 'n/a'}`,
  `noise σ (pooled baseline runs) ${sigma.toFixed(4)} over ${df} degrees of freedom; gains merged: ${merged.map((m) => (-(m.p.decision?.delta ?? Number.NaN)).toFixed(4)).join(', ') || 'none'}${merged[0]?.p.decision?.delta ? ` (the first is ${(-merged[0].p.decision.delta / sigma).toFixed(1)} σ)` : ''}`,
  `fresh re-runs (${freshStart.length} each, seeds 9001.., load ${load()} after ${((Date.now() - runsT0) / 60_000).toFixed(1)} min): start ${start.slice(0, 7)} ${s0.toFixed(4)} ± ${sd(freshStart).toFixed(4)}, final ${final.slice(0, 7)} ${s1.toFixed(4)} ± ${sd(freshFinal).toFixed(4)}; change ${(((s1 - s0) / s0) * 100).toFixed(2)}%`,
  `files: ${outDir}/{trajectory.tsv,merges.tsv,trajectory.svg,up.log}`,
];
await writeFile(join(outDir, 'summary.txt'), `${summary.join('\n')}\n`);
for (const l of summary) console.log(l);
await rm(work, { recursive: true, force: true });
