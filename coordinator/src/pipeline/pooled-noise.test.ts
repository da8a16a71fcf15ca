import { describe, expect, it } from 'vitest';
import { OUTLIER_ALPHA, pooledNoise } from './pooled-noise.ts';

/** A fixed normal sequence (Box–Muller on a linear congruential generator). */
function normals(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

describe('pooled noise of honest baselines', () => {
  // A young pool (one commit of five runs, the first head's) and a mature one (a commit of five
  // and twenty of two): an honest run must almost never be taken for an outlier, or σ̂ comes out
  // small and every t test of the class passes too easily. The median-based scale this replaced
  // left out an honest run of five one time in nine.
  for (const shape of [[5], [3], [5, 2, 2], [5, ...Array<number>(20).fill(2)]]) {
    it(`leaves out an honest run at most about α of the time: commits of ${shape.slice(0, 3).join(', ')}${shape.length > 3 ? ', …' : ''}`, () => {
      const z = normals(shape.length * 7919);
      const draws = 20_000;
      let lost = 0;
      for (let k = 0; k < draws; k++) {
        const n = pooledNoise(shape.map((m) => Array.from({ length: m }, () => 1 + 0.003 * z())));
        if ((n.outliers ?? 0) > 0) lost++;
      }
      expect(lost / draws).toBeLessThan(3 * OUTLIER_ALPHA);
    });
  }

  it('comes out below half the true σ no more often than the classical estimate (χ² with 4 df: 9%)', () => {
    const z = normals(42);
    const draws = 20_000;
    let small = 0;
    for (let k = 0; k < draws; k++) {
      const n = pooledNoise([Array.from({ length: 5 }, () => 1 + 0.003 * z())]);
      if (n.sigma < 0.0015) small++;
    }
    expect(small / draws).toBeLessThan(0.1);
  });
});
