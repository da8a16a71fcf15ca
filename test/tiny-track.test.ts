/**
 * The real tiny track on CPU with a short budget, through a real coordinator and a worker
 * process: the corpus comes from the coordinator, prepare.py builds the data, train.py
 * trains a real model, and a real val_bpb is parsed and recorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrackDir } from '@ratchet/coordinator';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, ROOT, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { type Proc, spawnCli } from './support/procs.ts';

let t: TestCoordinator | null = null;
let worker: Proc | null = null;
const dirs: string[] = [];
afterAll(async () => {
  await worker?.stop('SIGKILL');
  await t?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the tiny track', () => {
  it('trains for real on CPU and records a parsed val_bpb', async () => {
    t = await startCoordinator({ RATCHET_TRACKS: '' });
    const files = await readTrackDir(join(ROOT, 'tracks', 'tiny'));
    const conf = JSON.parse(files['ratchet.json']!);
    files['ratchet.json'] = JSON.stringify({ ...conf, id: 'tiny-ci', budgetS: 10, hardTimeoutS: 300 });
    await t.admin.tracks.add.mutate({ files });
    const cache = await mkdtemp(join(tmpdir(), 'ratchet-cache-'));
    dirs.push(cache);
    worker = spawnCli(
      ['worker', '--coordinator', t.url, '--python', PYTHON, '--workdir', join(cache, 'w'), '--once'],
      { XDG_CACHE_HOME: cache, RATCHET_TOKEN: t.c.adminToken },
    );
    const exp = await waitFor(
      async () =>
        (await t!.admin.experiments.list.query({ track: 'tiny-ci' })).find((e) => e.recordedAt !== null),
      240_000,
      'the tiny baseline',
    );
    expect(exp.status, exp.logTail).toBe('ok');
    expect(exp.kind).toBe('baseline');
    // Bytes of English: a uniform guess costs 8 bits per byte, and even a few steps (all a
    // loaded CI machine may manage in the budget) learn the byte frequencies below that.
    expect(exp.metrics!.val_bpb).toBeGreaterThan(0.5);
    expect(exp.metrics!.val_bpb).toBeLessThan(7.9);
    expect(exp.metrics!.num_steps).toBeGreaterThan(0);
    expect(exp.extra.device).toBe('cpu');
    expect(exp.timings!.trainStartAt).not.toBeNull();
    // --once: one job, then the worker exits by itself, cleanly.
    expect(await worker.exit(60_000)).toBe(0);
  });

  it('trains the CPU track on its compute budget, so that load cannot change its training', async () => {
    const files = await readTrackDir(join(ROOT, 'tracks', 'tiny-cpu'));
    const conf = JSON.parse(files['ratchet.json']!);
    files['ratchet.json'] = JSON.stringify({ ...conf, id: 'tiny-cpu-ci', budgetS: 3, hardTimeoutS: 300 });
    await t!.admin.tracks.add.mutate({ files });
    const cache = await mkdtemp(join(tmpdir(), 'ratchet-cache-'));
    dirs.push(cache);
    worker = spawnCli(
      [
        'worker',
        '--coordinator',
        t!.url,
        '--python',
        PYTHON,
        '--workdir',
        join(cache, 'w'),
        '--once',
        '--track',
        'tiny-cpu-ci',
      ],
      { XDG_CACHE_HOME: cache, RATCHET_TOKEN: t!.c.adminToken },
    );
    const exp = await waitFor(
      async () =>
        (await t!.admin.experiments.list.query({ track: 'tiny-cpu-ci' })).find((e) => e.recordedAt !== null),
      240_000,
      'the tiny-cpu baseline',
    );
    expect(exp.status, exp.logTail).toBe('ok');
    expect(exp.extra.budget_clock).toBe('compute');
    // The budget is compute: 3 × 5e10 FLOPs over 6·N·D a step (the default model's N is 90,496
    // parameters, D 2,048 tokens) is 134.9, so the loop stops after 135 steps, however busy or
    // fast the machine; the seconds it took are whatever they were.
    expect(exp.metrics!.num_steps).toBe(135);
    expect(exp.metrics!.total_tokens_M).toBeCloseTo(0.276, 3);
    expect(exp.metrics!.training_seconds).toBeGreaterThan(0);
    expect(exp.metrics!.val_bpb).toBeLessThan(7.9);
    expect(await worker.exit(60_000)).toBe(0);
  });
});
