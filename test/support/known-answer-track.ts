/**
 * A track of known answers for acceptance tests with real worker processes: its train.py
 * prints val_bpb = QUALITY − BONUS − EXTRA plus Gaussian noise of σ 0.0006 drawn from the
 * run's seed (RATCHET_SEED), so that honest baselines have a real spread and each run's
 * noise follows its seed. NOOP_* constants change nothing: a patch of one is a null patch. A
 * liar measuring it honestly uses the same rule (`liar-worker.ts`'s default landscape).
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '@ratchet/proposers';
import { STANDIN_TRACK } from './harness.ts';

export const KNOWN_SIGMA = 0.0006;
export const KNOWN_TRACK_ID = 'known';

// Each constant sits seven lines from the next, so that patches of different constants
// (three lines of context each) rebase onto each other cleanly, in any order.
const KNOBS = [
  'QUALITY = 1.000000',
  'BONUS = 0.000000',
  'EXTRA = 0.000000',
  'NOOP_A = 0',
  'NOOP_B = 0',
  'NOOP_C = 0',
  'NOOP_D = 0',
];
const TRAIN_PY = `# A known-answer stand-in for train.py.
import os
import random

${KNOBS.map((k, i) => `${k}\n${Array.from({ length: 6 }, (_, j) => `# (${i}.${j})`).join('\n')}`).join('\n')}

SIGMA = ${KNOWN_SIGMA}

rng = random.Random(int(os.environ.get("RATCHET_SEED", "0") or 0))
noise = rng.gauss(0.0, SIGMA)
print("---")
print(f"val_bpb:          {QUALITY - BONUS - EXTRA + noise:.6f}")
print("training_seconds: 0.1")
print("peak_vram_mb:     0.0")
print("num_steps:        5")
`;

/** A folder holding the track, for RATCHET_TRACKS. */
export async function knownAnswerTrack(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-track-known-'));
  await writeFile(join(dir, 'train.py'), TRAIN_PY);
  await copyFile(join(STANDIN_TRACK, 'prepare.py'), join(dir, 'prepare.py'));
  await writeFile(
    join(dir, 'ratchet.json'),
    JSON.stringify({
      id: KNOWN_TRACK_ID,
      description: 'Known answers: real gains and null patches of known effect.',
      editable: ['train.py'],
      pinned: ['prepare.py'],
      prepare: ['python', 'prepare.py'],
      run: { default: ['python', 'train.py'] },
      budgetS: 1,
      hardTimeoutS: 30,
      backends: ['cpu', 'cuda', 'mps', 'mlx'],
    }),
  );
  return dir;
}

/** The known answer of a patch: how much it lowers val_bpb (0 for a null patch). */
export interface KnownPatch {
  description: string;
  patch: string;
  gain: number;
}

function set(name: string, from: string, to: string): string {
  return unifiedDiff('train.py', TRAIN_PY, TRAIN_PY.replace(`${name} = ${from}\n`, `${name} = ${to}\n`));
}

/** Real gains of 0.006–0.01 (10–16σ), one constant each. */
export const REAL_GAINS: KnownPatch[] = [
  { description: 'lower QUALITY', patch: set('QUALITY', '1.000000', '0.990000'), gain: 0.01 },
  { description: 'add BONUS', patch: set('BONUS', '0.000000', '0.008000'), gain: 0.008 },
  { description: 'add EXTRA', patch: set('EXTRA', '0.000000', '0.006000'), gain: 0.006 },
];

/** Patches that change nothing measurable. */
export const NULL_PATCHES: KnownPatch[] = ['NOOP_A', 'NOOP_B', 'NOOP_C', 'NOOP_D'].map((n) => ({
  description: `change ${n}`,
  patch: set(n, '0', '1'),
  gain: 0,
}));
