/**
 * Stand-in tracks written by a test: a train.py in upstream's output format that records
 * the environment it ran with (its device pin, when it started and ended), and can be told
 * by the machine's environment to respond to QUALITY the other way round — a gain on one
 * class that reverses on another.
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STANDIN_TRACK } from './harness.ts';

// Lines 5-7 match the stand-in's, so `qualityPatch` applies to it.
const TRAIN_PY = `# A recording stand-in for train.py.
import json
import os
import time

QUALITY = 1.000000  # val_bpb follows this constant: lower is better
STEPS = 5

t0 = time.time()
sign = -1.0 if os.environ.get("STANDIN_REVERSED") else 1.0
for step in range(STEPS):
    print(f"\\rstep {step:05d} ({100.0 * step / STEPS:.1f}%) | loss: 1.0 | remaining: 1s", end="", flush=True)
    time.sleep(float(os.environ.get("STANDIN_SLEEP_S", "0.1")) / STEPS)
rec = os.environ.get("STANDIN_RECORD_DIR")
if rec:
    with open(os.path.join(rec, f"{os.getpid()}.json"), "w") as f:
        json.dump({
            "job": os.environ.get("RATCHET_JOB_ID"),
            "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "order": os.environ.get("CUDA_DEVICE_ORDER"),
            "start": t0,
            "end": time.time(),
        }, f)
print()
print("---")
print(f"val_bpb:          {1.0 + sign * (QUALITY - 1.0):.6f}")
print(f"training_seconds: {time.time() - t0:.1f}")
print("peak_vram_mb:     0.0")
print(f"num_steps:        {STEPS}")
`;

export async function recordingTrack(opts: {
  id: string;
  backends: string[];
  run?: string[];
  prepare?: string[] | null;
}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ratchet-track-${opts.id}-`));
  await writeFile(join(dir, 'train.py'), TRAIN_PY);
  await copyFile(join(STANDIN_TRACK, 'prepare.py'), join(dir, 'prepare.py'));
  await writeFile(
    join(dir, 'ratchet.json'),
    JSON.stringify({
      id: opts.id,
      description: 'A recording stand-in.',
      editable: ['train.py'],
      pinned: ['prepare.py'],
      prepare: opts.prepare === undefined ? ['python', 'prepare.py'] : opts.prepare,
      run: { default: opts.run ?? ['python', 'train.py'] },
      budgetS: 1,
      hardTimeoutS: 30,
      backends: opts.backends,
      // The tests steer train.py through the worker's environment.
      env: ['STANDIN_REVERSED', 'STANDIN_SLEEP_S', 'STANDIN_RECORD_DIR'],
    }),
  );
  return dir;
}
