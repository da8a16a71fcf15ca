/**
 * Workers on every kind of machine, across processes: a real coordinator, real `ratchet
 * worker` processes, real Python runs. A 4-GPU box (nvidia-smi replaced by a script on PATH
 * printing its real query output) of which the owner shows three GPUs serves three jobs at
 * once, one per GPU, each pinned with CUDA_VISIBLE_DEVICES; a worker that can run none of
 * the tracks it asks for, or a backend it lacks, stops with a coded error; a track whose
 * interpreter does not exist gets a coded error on each job while the worker goes on.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '@ratchet/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeToolsDir, nvidiaSmiOutput, pathWith } from './support/fake-tools.ts';
import { PYTHON, qualityPatch, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { type Proc, spawnCli } from './support/procs.ts';
import { recordingTrack } from './support/recording-track.ts';

const procs: Proc[] = [];
const dirs: string[] = [];
let tc: TestCoordinator;
let workerToken: string;
let fakeTools: string;

beforeAll(async () => {
  const gpuTrack = await recordingTrack({ id: 'gpu-standin', backends: ['cuda'] });
  const missing = await recordingTrack({
    id: 'missing-python',
    backends: ['cpu'],
    run: ['python3.99', 'train.py'],
    prepare: null,
  });
  const cpuTrack = await recordingTrack({ id: 'cpu-standin', backends: ['cpu'] });
  fakeTools = await fakeToolsDir({ nvidiaSmi: nvidiaSmiOutput(4) });
  dirs.push(gpuTrack, missing, cpuTrack, fakeTools);
  tc = await startCoordinator({ RATCHET_TRACKS: `${gpuTrack},${missing},${cpuTrack}` });
  workerToken = (await tc.admin.tokens.create.mutate({ role: 'worker', name: 'box', trusted: true })).token;
});

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await tc?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function worker(args: string[], env: NodeJS.ProcessEnv = {}) {
  const work = await mkdtemp(join(tmpdir(), 'ratchet-hw-worker-'));
  dirs.push(work);
  const p = spawnCli(['worker', '--coordinator', tc.url, '--python', PYTHON, '--workdir', work, ...args], {
    RATCHET_LOG_LEVEL: 'silent',
    RATCHET_TOKEN: workerToken,
    ...env,
  });
  procs.push(p);
  return p;
}

interface RunRecord {
  job: string;
  cvd: string | null;
  order: string | null;
  start: number;
  end: number;
}

describe('workers on every kind of machine', () => {
  it('runs one job per visible GPU at once, each pinned to its own device', async () => {
    const records = await mkdtemp(join(tmpdir(), 'ratchet-hw-records-'));
    dirs.push(records);
    const box = await worker(['--name', 'box'], {
      PATH: pathWith(fakeTools),
      CUDA_VISIBLE_DEVICES: '1,2,3',
      STANDIN_RECORD_DIR: records,
      STANDIN_SLEEP_S: '1.5',
    });
    await waitFor(
      async () => (box.output().match(/registered as/g) ?? []).length === 3,
      30_000,
      'three slots registering',
    );
    for (const gpu of [1, 2, 3]) {
      expect(box.output()).toMatch(
        new RegExp(`\\[worker box-gpu${gpu}\\] runs track gpu-standin on cuda as class cuda-h100-80g`),
      );
    }
    expect(box.output()).not.toContain('box-gpu0');
    const workers = (await tc.admin.workers.list.query()).filter((w) => w.name.startsWith('box-gpu'));
    expect(workers.map((w) => w.name).sort()).toEqual(['box-gpu1', 'box-gpu2', 'box-gpu3']);
    expect(new Set(workers.map((w) => w.hardwareClass))).toEqual(new Set(['cuda-h100-80g']));
    // The CPU-only track is not for these slots.
    expect(box.output()).toContain('skips track missing-python: it runs on cpu; this worker offers cuda');
    expect(box.output()).toContain('skips track cpu-standin: it runs on cpu; this worker offers cuda');

    for (const q of ['1.010000', '1.020000', '1.030000', '1.040000']) {
      await tc.admin.proposals.submit.mutate({
        track: 'gpu-standin',
        patch: qualityPatch('1.000000', q),
        description: `QUALITY ${q}`,
      });
    }
    const runs = await waitFor(
      async () => {
        const files = await readdir(records);
        if (files.length < 8) return null;
        return Promise.all(
          files.map(async (f) => JSON.parse(await readFile(join(records, f), 'utf8')) as RunRecord),
        );
      },
      180_000,
      'eight recorded runs',
    );
    const devices = runs.map((r) => r.cvd);
    expect(new Set(devices)).toEqual(new Set(['1', '2', '3']));
    expect(new Set(runs.map((r) => r.order))).toEqual(new Set(['PCI_BUS_ID']));
    let overlapping = 0;
    for (const [i, a] of runs.entries()) {
      for (const b of runs.slice(i + 1)) {
        if (a.start < b.end && b.start < a.end) {
          overlapping++;
          // Never two jobs on one device at the same time.
          expect(a.cvd, `${a.job} and ${b.job} overlapped on GPU ${a.cvd}`).not.toBe(b.cvd);
        }
      }
    }
    // The slots really ran side by side.
    expect(overlapping).toBeGreaterThan(0);
    expect(await box.stop('SIGTERM')).toBe(0);
  }, 300_000);

  it('stops with a coded error when it can run none of the tracks it asks for', async () => {
    const cpu = await worker(['--track', 'gpu-standin'], {
      PATH: pathWith('/nonexistent') + ':/usr/bin:/bin',
    });
    expect(await cpu.exit(60_000)).toBe(2);
    expect(cpu.output()).toContain(`error ${ErrorCodes.NO_MATCHING_TRACK}`);
    expect(cpu.output()).toContain('gpu-standin: it runs on cuda; this worker offers cpu');
  }, 90_000);

  it('stops with a coded error when asked for a backend the machine lacks', async () => {
    const p = await worker(['--backend', 'cuda']);
    expect(await p.exit(60_000)).toBe(2);
    expect(p.output()).toContain(`error ${ErrorCodes.BACKEND_UNAVAILABLE}: backend cuda unavailable`);
  }, 90_000);

  it('reports a missing interpreter as a coded error on the job, stops leasing that track and keeps working', async () => {
    const p = await worker(['--name', 'cpu-box']);
    await p.waitForLine(/runs track missing-python on cpu/, 30_000);
    const crashed = await waitFor(
      async () => {
        const exps = await tc.admin.experiments.list.query({ track: 'missing-python' });
        return exps.find((e) => e.status === 'crash');
      },
      120_000,
      'the job that needs python3.99',
    );
    expect(crashed.crash?.message).toMatch(/^RATCHET_E_TOOLCHAIN_MISSING: the track runs "python3\.99"/);
    expect(crashed.crash?.message).toContain('--python');
    await p.waitForLine(
      /stops leasing track missing-python \(its toolchain is missing here\); keeps cpu-standin/,
      30_000,
    );
    // The worker did not crash: it goes on with the track it can run.
    const { proposal } = await tc.admin.proposals.submit.mutate({
      track: 'cpu-standin',
      patch: qualityPatch('1.000000', '1.100000'),
      description: 'raise QUALITY',
    });
    const done = await waitFor(
      async () => {
        const q = await tc.admin.proposals.get.query({ id: proposal.id });
        return q.status === 'discarded' ? q : null;
      },
      120_000,
      'the cpu-standin proposal',
    );
    expect(done.status).toBe('discarded');
    expect(p.child.exitCode).toBeNull();
    // No further job of the track was taken and crashed.
    const all = await tc.admin.experiments.list.query({ track: 'missing-python' });
    expect(all.filter((e) => e.status === 'crash')).toHaveLength(1);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 240_000);

  it('stops with the coded error when no track it can run is left', async () => {
    const p = await worker(['--name', 'only-missing', '--track', 'missing-python']);
    expect(await p.exit(120_000)).toBe(2);
    expect(p.output()).toContain(
      `error ${ErrorCodes.TOOLCHAIN_MISSING}: no track left that this worker can run`,
    );
  }, 150_000);
});
