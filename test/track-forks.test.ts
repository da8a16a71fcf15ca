/**
 * Every autoresearch shape end to end: a checkout in the fork's shape (test/support/forks.ts)
 * → `ratchet track init` → `ratchet track add` (a folder, or a real git clone of a file://
 * URL at a ref) → a real worker process runs the stand-in train.py through the track's own
 * commands (`uv sync`, `uv run prepare.py`, `uv run train.py`, through the uv test double on
 * PATH) → the run log parses with the fork's quirks → a result is recorded.
 *
 * This machine is a Linux CPU box: the worker registers as `cpu`. The CPU fork runs as
 * `track init` wrote it; for the others the test, as a user would, adds `cpu` to the
 * track's backends after checking what init wrote (the stand-ins need no GPU).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unifiedDiff } from '@ratchet/proposers';
import type { Experiment, TrackConfig } from '@ratchet/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORKS, type ForkName, writeFork, writeUvShim } from './support/forks.ts';
import { PYTHON, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { type Proc, spawnCli } from './support/procs.ts';

const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) =>
  run('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd });

let t: TestCoordinator;
let root: string;
let worker: Proc | null = null;
let shimLog: string;
let workDir: string;
const cliEnv = () => ({ RATCHET_URL: t.url, RATCHET_TOKEN: t.c.adminToken });

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = spawnCli(args, { ...cliEnv(), ...env });
  const code = await p.exit(60_000);
  return { code, out: p.output() };
}

async function readConfig(dir: string): Promise<TrackConfig> {
  return JSON.parse(await readFile(join(dir, 'ratchet.json'), 'utf8'));
}

/** What `track init` wrote, then `cpu` added so that this CPU box may run the stand-in. */
async function widenToCpu(dir: string): Promise<void> {
  const cfg = await readConfig(dir);
  await writeFile(join(dir, 'ratchet.json'), JSON.stringify({ ...cfg, backends: [...cfg.backends, 'cpu'] }));
}

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await readdir(dir)) {
    if (f === '.git') continue;
    out[f] = createHash('sha256')
      .update(await readFile(join(dir, f)))
      .digest('hex');
  }
  return out;
}

async function baseline(track: string): Promise<Experiment> {
  return waitFor(
    async () =>
      (await t.admin.experiments.list.query({ track })).find(
        (e) => e.kind === 'baseline' && e.recordedAt !== null,
      ),
    90_000,
    `a recorded baseline of ${track}`,
  );
}

const dirOf = (f: ForkName) => join(root, f);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ratchet-forks-'));
  t = await startCoordinator({ RATCHET_TRACKS: '' });
  shimLog = join(root, 'uv.log');
  await writeUvShim(join(root, 'bin'), PYTHON, shimLog);
  for (const f of Object.keys(FORKS) as ForkName[]) await writeFork(dirOf(f), f);
}, 60_000);

afterAll(async () => {
  // SIGTERM: the worker gives back a job in flight and kills its process tree before it exits.
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exit(30_000).catch(() => worker?.stop('SIGKILL'));
  }
  await t?.close();
  await rm(root, { recursive: true, force: true });
});

describe('track init', () => {
  it('recognises each shape and writes only ratchet.json into the checkout', async () => {
    for (const f of ['original', 'macos', 'mlx', 'win-rtx'] as ForkName[]) {
      const before = await digest(dirOf(f));
      const r = await cli(['track', 'init', dirOf(f)]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`recognised ${FORKS[f].upstream}`);
      const after = await digest(dirOf(f));
      const { 'ratchet.json': written, ...rest } = after;
      expect(written).toBeDefined();
      expect(rest).toEqual(before);
    }
    const cfgs = Object.fromEntries(
      await Promise.all(
        (['original', 'macos', 'mlx', 'win-rtx'] as ForkName[]).map(async (f) => [
          f,
          await readConfig(dirOf(f)),
        ]),
      ),
    );
    expect(cfgs.original).toMatchObject({
      id: 'autoresearch',
      editable: ['train.py'],
      pinned: ['prepare.py', 'pyproject.toml', 'uv.lock', '.python-version'],
      prepare: ['uv', 'run', 'prepare.py'],
      run: { default: ['uv', 'run', 'train.py'], win32: ['uv', 'run', 'python', '-X', 'utf8', 'train.py'] },
      sync: { argv: ['uv', 'sync'], lockfile: 'uv.lock', envDirVar: 'UV_PROJECT_ENVIRONMENT' },
      budgetS: 300,
      hardTimeoutS: 600,
      backends: ['cuda'],
      program: 'program.md',
    });
    expect(cfgs.macos).toMatchObject({ backends: ['mps'], hardTimeoutS: 600 });
    expect(cfgs.mlx).toMatchObject({ backends: ['mlx'], hardTimeoutS: 900 });
    expect(cfgs['win-rtx']).toMatchObject({ backends: ['cuda'], hardTimeoutS: 600 });
  }, 240_000);

  it('refuses to replace ratchet.json, and writes elsewhere with --out', async () => {
    const again = await cli(['track', 'init', dirOf('original')]);
    expect(again.code).toBe(2);
    expect(again.out).toMatch(/RATCHET_E_BAD_INPUT.*exists.*--out/);
    const out = join(root, 'elsewhere.json');
    const r = await cli(['track', 'init', dirOf('original'), '--out', out, '--id', 'h100']);
    expect(r.code, r.out).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({
      id: 'h100',
      origin: { shape: 'autoresearch' },
    });
  }, 120_000);

  it('explains an unknown layout with a coded error and a template, writing nothing', async () => {
    const dir = join(root, 'unknown');
    await writeFork(dir, 'macos');
    await writeFile(join(dir, 'train.py'), 'import torch\nprint("hello")\n');
    const before = await digest(dir);
    const r = await cli(['track', 'init', dir]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('RATCHET_E_TRACK_UNRECOGNISED');
    expect(r.out).toContain('trevin-creator/autoresearch-mlx (Apple Silicon, MLX): train.py imports mlx');
    const template = JSON.parse(r.out.slice(r.out.indexOf('{'), r.out.lastIndexOf('}') + 1));
    expect(template).toMatchObject({
      editable: ['train.py'],
      pinned: ['prepare.py', 'pyproject.toml', 'uv.lock', '.python-version'],
    });
    expect(await digest(dir)).toEqual(before);
  }, 60_000);
});

describe('track add, then a real worker runs each shape', () => {
  it('imports from folders and from git URLs at a ref, with the program each track carries', async () => {
    for (const f of ['macos', 'mlx', 'win-rtx'] as ForkName[]) {
      await widenToCpu(dirOf(f));
      const r = await cli(['track', 'add', dirOf(f)]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(new RegExp(`imported track ${FORKS[f].id} .*proposers read program\\.md`));
    }
    // The original, committed with its ratchet.json and tagged: a clone of file://…#v1.
    const orig = dirOf('original');
    await widenToCpu(orig);
    await git(orig, 'init', '-q', '--initial-branch', 'main');
    await git(orig, 'add', '-A');
    await git(orig, 'commit', '-qm', 'original');
    await git(orig, 'tag', 'v1');
    await writeFile(join(orig, 'train.py'), 'raise SystemExit("not the tagged train.py")\n');
    await git(orig, 'commit', '-qam', 'later');
    const r1 = await cli(['track', 'add', `file://${orig}#v1`]);
    expect(r1.code, r1.out).toBe(0);
    // The CPU fork on a branch, with no ratchet.json at all: recognised on the fly.
    const cpu = dirOf('cpu');
    await git(cpu, 'init', '-q', '--initial-branch', 'main');
    await git(cpu, 'commit', '-q', '--allow-empty', '-m', 'empty main');
    await git(cpu, 'checkout', '-qb', 'cpu-port');
    await git(cpu, 'add', '-A');
    await git(cpu, 'commit', '-qm', 'cpu fork');
    await git(cpu, 'checkout', '-q', 'main');
    const r2 = await cli(['track', 'add', `file://${cpu}#cpu-port`]);
    expect(r2.code, r2.out).toBe(0);
    expect(r2.out).toContain('has no ratchet.json');
    expect(r2.out).toContain('recognised bopalvelut-prog/autoresearch');

    const tracks = await t.admin.tracks.list.query();
    expect(tracks.map((x) => x.config.id).sort()).toEqual(
      Object.values(FORKS)
        .map((f) => f.id)
        .sort(),
    );
    const cpuTrack = tracks.find((x) => x.config.id === 'autoresearch-cpu')!;
    expect(cpuTrack.config.backends).toEqual(['cpu', 'mps', 'cuda']);
    expect(cpuTrack.config.origin).toMatchObject({ shape: 'autoresearch-cpu', url: `file://${cpu}` });
    const origTrack = tracks.find((x) => x.config.id === 'autoresearch')!;
    expect(
      await t.admin.tracks.file.query({ id: 'autoresearch', commit: origTrack.head, path: 'train.py' }),
    ).not.toMatchObject({
      content: expect.stringContaining('not the tagged'),
    });
    // Only the track's files travel: not README.md, results.tsv or the fork's other scripts.
    await expect(
      t.admin.tracks.file.query({ id: 'autoresearch-cpu', commit: cpuTrack.head, path: 'agent.py' }),
    ).rejects.toThrow(/not a file of track/);
    for (const f of Object.values(FORKS)) {
      const tr = tracks.find((x) => x.config.id === f.id)!;
      const program = await t.admin.tracks.file.query({ id: f.id, commit: tr.head, path: tr.config.program });
      expect(program.content).toContain(f.programLine);
    }
  }, 240_000);

  it('runs every shape through uv sync, prepare and train, and parses each fork’s log', async () => {
    workDir = join(root, 'worker');
    worker = spawnCli(['worker', '--coordinator', t.url, '--python', PYTHON, '--workdir', workDir], {
      RATCHET_TOKEN: t.c.adminToken,
      PATH: `${join(root, 'bin')}:${process.env.PATH}`,
      HOME: join(root, 'home'),
      XDG_CACHE_HOME: join(root, 'cache'),
    });
    const got: Record<string, Experiment> = {};
    for (const f of Object.values(FORKS)) {
      const e = await baseline(f.id);
      expect(e.status, `${f.id}: ${e.crash?.message}\n${e.logTail}`).toBe('ok');
      expect(Math.abs(e.metrics!.val_bpb - f.baseBpb), f.id).toBeLessThan(0.002);
      expect(e.metrics!.num_steps).toBeGreaterThan(0);
      got[f.name] = e;
    }
    expect(got.original!.metrics).toMatchObject({ peak_vram_mb: 45060.2, mfu_percent: 39.8 });
    expect(got.cpu!.metrics).toMatchObject({ peak_vram_mb: null, mfu_percent: 1.2 });
    expect(got.macos!.metrics).toMatchObject({ peak_vram_mb: 0 });
    expect(got.mlx!.metrics).toMatchObject({ mfu_percent: 0 });
    expect(got['win-rtx']!.metrics).toMatchObject({ mfu_percent: null, peak_vram_mb: 9811 });
    expect(got['win-rtx']!.extra).toEqual({
      gpu_name: 'NVIDIA GeForce RTX 4090',
      vram_total_mb: '24564',
      dataset: 'tinystories',
      attention: 'sdpa+cached_mask',
    });
    // The Windows fork's log reached the parser with its CRLF line ends.
    const winLog = await readFile(join(workDir, 'jobs', `${got['win-rtx']!.id}.log`), 'utf8');
    expect(winLog).toContain('---\r\nval_bpb:');
    // Through uv: one sync per lockfile, in its own environment, before prepare and train.
    const calls = (await readFile(shimLog, 'utf8')).trim().split('\n');
    const syncs = calls.filter((c) => c.startsWith('sync '));
    expect(new Set(syncs).size).toBe(syncs.length);
    expect(syncs.length).toBe(5);
    expect(calls.filter((c) => c === 'run prepare.py').length).toBe(5);
    expect(calls.filter((c) => c === 'run train.py').length).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('records a diverging edit as a nan crash from FAIL glued to the progress line, reusing the synced environment', async () => {
    const track = await t.admin.tracks.get.query({ id: 'autoresearch-win-rtx' });
    const train = (
      await t.admin.tracks.file.query({ id: track.config.id, commit: track.head, path: 'train.py' })
    ).content;
    const patch = unifiedDiff(
      'train.py',
      train,
      train.replace('LEARNING_RATE = 0.04', 'LEARNING_RATE = 2.0'),
    );
    const syncsBefore = (await readFile(shimLog, 'utf8'))
      .split('\n')
      .filter((c) => c.startsWith('sync ')).length;
    await t.admin.proposals.submit.mutate({
      track: track.config.id,
      patch,
      description: 'LEARNING_RATE 2.0',
    });
    const e = await waitFor(
      async () =>
        (await t.admin.experiments.list.query({ track: track.config.id })).find(
          (x) => x.kind === 'candidate' && x.recordedAt !== null,
        ),
      120_000,
      'the diverging candidate',
    );
    expect(e.status).toBe('crash');
    expect(e.crash).toMatchObject({ reason: 'nan', message: 'training printed FAIL' });
    const syncsAfter = (await readFile(shimLog, 'utf8'))
      .split('\n')
      .filter((c) => c.startsWith('sync ')).length;
    expect(syncsAfter).toBe(syncsBefore);
  }, 180_000);
});
