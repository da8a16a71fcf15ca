/**
 * The pooled noise of a class, robust to outliers: σ² = Σ_g Σ_i (x_gi − x̄_g)² / ν with
 * ν = Σ_g (n_g − 1) over the samples that stand, after a leave-one-out outlier test.
 *
 * The test is the externally studentized residual: a sample x of a commit with n samples is
 * compared with the mean of the commit's other n − 1, on the scale of every other sample of the
 * pool, t = (x − x̄₋) / (σ̂₋ · √(1 + 1/(n − 1))), which for honest normal noise follows Student's
 * t with ν − 1 degrees of freedom exactly. The most extreme sample leaves when |t| exceeds
 * t(1 − α/(2N), ν − 1), N the samples in the pool, and the test repeats on the rest, so honest
 * pools lose a sample with probability at most α (`OUTLIER_ALPHA`) whatever their shape. A
 * wild sample (a broken run, a forged baseline) leaves instead of inflating σ for every later
 * decision on the class; a commit left with one sample drops it as well, since which of the two
 * was wild cannot be told.
 *
 * A scale read off the samples themselves (the median distance to the median) cannot do this
 * on young pools: a commit of five honest runs, three of them close by chance, had a scale so
 * small that it dropped an honest sample one time in nine, and σ̂ then came out below half the
 * true σ one time in six, against one in eleven for the classical estimate. Every t test of the
 * class then passed too easily: that made null patches merge at 2% on a first head.
 */
import { tQuantile } from './t-dist.ts';

export interface PooledNoise {
  sigma: number;
  df: number;
  samples: number;
  /** Samples left out as outliers. */
  outliers?: number;
}

/** The family-wise chance that an honest pool loses a sample to the outlier test. */
export const OUTLIER_ALPHA = 0.001;

interface Group {
  xs: number[];
  mean: number;
  ss: number;
}

function summarise(xs: number[]): Group {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { xs, mean: m, ss: xs.reduce((a, x) => a + (x - m) ** 2, 0) };
}

export function pooledNoise(
  groups: readonly (readonly number[])[],
  alpha: number = OUTLIER_ALPHA,
): PooledNoise {
  const samples = groups.reduce((a, g) => a + g.length, 0);
  const pool = groups.filter((g) => g.length >= 2).map((g) => summarise([...g]));
  let outliers = 0;
  for (;;) {
    const ss = pool.reduce((a, g) => a + g.ss, 0);
    const df = pool.reduce((a, g) => a + g.xs.length - 1, 0);
    // Leaving one out must leave a scale to judge it by.
    if (df < 2) break;
    // The most extreme sample of the pool, by its leave-one-out t.
    let w: { g: number; i: number; t: number } | null = null;
    for (const [gi, g] of pool.entries()) {
      const n = g.xs.length;
      for (const [i, x] of g.xs.entries()) {
        const r = x - g.mean;
        const ssOut = ss - (r * r * n) / (n - 1);
        if (!(ssOut > 0)) continue;
        const others = (n * g.mean - x) / (n - 1);
        const t = Math.abs(x - others) / Math.sqrt((ssOut / (df - 1)) * (1 + 1 / (n - 1)));
        if (!w || t > w.t) w = { g: gi, i, t };
      }
    }
    if (!w || w.t <= tQuantile(1 - alpha / (2 * samples), df - 1)) break;
    const g = pool[w.g]!;
    const drop = w.i;
    const rest = g.xs.filter((_, i) => i !== drop);
    outliers++;
    if (rest.length >= 2) pool[w.g] = summarise(rest);
    else {
      outliers += rest.length;
      pool.splice(w.g, 1);
    }
  }
  const ss = pool.reduce((a, g) => a + g.ss, 0);
  const df = pool.reduce((a, g) => a + g.xs.length - 1, 0);
  return { sigma: df > 0 ? Math.sqrt(ss / df) : Number.NaN, df, samples, outliers };
}
