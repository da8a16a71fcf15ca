import { describe, expect, it } from 'vitest';
import { type RawBaseline, verifyBaselines } from './baseline-trust.ts';
import { DEFAULT_ACCEPTANCE as cfg, type PooledNoise } from './stats.ts';

const young: PooledNoise = { sigma: Number.NaN, df: 0, samples: 0 };
const known: PooledNoise = { sigma: 0.0006, df: 12, samples: 20 };
let n = 0;
const b = (principal: string, valBpb: number, trusted = false): RawBaseline => ({
  experimentId: `e${n++}`,
  valBpb,
  principal,
  trusted,
});
const counted = (xs: RawBaseline[], noise: PooledNoise) =>
  verifyBaselines(xs, noise, cfg).map((s) => s.counted);

describe('baseline verification', () => {
  it('counts a trusted worker’s baseline at once, alone', () => {
    expect(counted([b('local', 1.0, true)], young)).toEqual([true]);
  });

  it('holds an untrusted baseline until another principal’s baseline agrees', () => {
    const alone = [b('vol1', 1.0), b('vol1', 1.0004)];
    const s = verifyBaselines(alone, known, cfg);
    expect(s.map((x) => x.counted)).toEqual([false, false]);
    expect(s[0]!.reason).toContain('unverified');
    expect(counted([...alone, b('vol2', 0.9995)], known)).toEqual([true, true, true]);
  });

  it('never counts a baseline 0.02 better than every other principal’s, nor one far off', () => {
    const xs = [
      b('h1', 1.0),
      b('h2', 1.0006),
      b('liar', 0.98),
      b('h1', 0.9996),
      b('liar', 0.9804),
      b('wild', 5),
    ];
    expect(counted(xs, known)).toEqual([true, true, false, true, false, false]);
  });

  it('judges agreement by each principal’s own spread while the class has no noise estimate', () => {
    // The liar shifts every number: its own spread is honest, so the shift shows.
    const xs = [b('h1', 1.0), b('h1', 1.0007), b('liar', 0.98), b('liar', 0.9806), b('h2', 0.9995)];
    expect(counted(xs, young)).toEqual([true, true, false, false, true]);
    // No spread known yet: only identical numbers agree (a deterministic track). Within the
    // σ floor's tolerance was not enough: on a noisy track only the closest pairs counted,
    // and the first noise estimate was built from them alone.
    expect(counted([b('h1', 1.0), b('h2', 1.0)], young)).toEqual([true, true]);
    expect(counted([b('h1', 1.0), b('h2', 1.0003)], young)).toEqual([false, false]);
    expect(counted([b('h1', 1.0), b('h2', 1.003)], young)).toEqual([false, false]);
  });

  it('never counts a baseline 0.02 off while the class’s noise rests on one degree of freedom', () => {
    const xs = [b('h1', 0.99), b('h2', 0.9906), b('liar', 0.97)];
    expect(counted(xs, { sigma: 0.0006, df: 1, samples: 2 })).toEqual([true, true, false]);
  });

  it('never counts a baseline 0.02 off when one unlucky pair made the young σ estimate 2.5× the truth', () => {
    // Seen in the lying-workers test: the first head's two honest baselines, 0.999061 and
    // 1.001164, gave σ̂ 0.00149 at ν = 1 (honest σ is 0.0006); widened for the young
    // estimate, the bound of agreement was 0.021, and the liar's 0.97992 and 0.97934 counted.
    const xs = [b('h1', 0.999061, true), b('h2', 1.001164, true), b('liar', 0.979922), b('liar', 0.97934)];
    expect(counted(xs, { sigma: 0.001487, df: 1, samples: 2 })).toEqual([true, true, false, false]);
    // Honest baselines still agree within that bound.
    expect(counted([...xs, b('h3', 1.0042)], { sigma: 0.001487, df: 1, samples: 2 })).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
  });

  it('counts a principal’s own replicates as one voice: two workers of one token do not verify each other', () => {
    expect(counted([b('tok', 1.0), b('tok', 1.0)], known)).toEqual([false, false]);
  });
});
