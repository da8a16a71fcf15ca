import { describe, expect, it } from 'vitest';
import { tQuantile, tUpperTail } from './t-dist.ts';

describe("Student's t", () => {
  it('gives the tabulated quantiles, far tails of small ν included', () => {
    // Reference values (R: qt(p, df)).
    expect(tQuantile(0.95, 1)).toBeCloseTo(6.3138, 3);
    expect(tQuantile(0.99, 3)).toBeCloseTo(4.5407, 3);
    expect(tQuantile(0.999, 3)).toBeCloseTo(10.2145, 3);
    expect(tQuantile(0.9999, 3)).toBeCloseTo(22.2037, 2);
    expect(tQuantile(0.9999, 4)).toBeCloseTo(13.0341, 2);
    expect(tQuantile(0.99999, 6)).toBeCloseTo(12.0317, 2);
    expect(tQuantile(0.975, 30)).toBeCloseTo(2.0423, 3);
    expect(tQuantile(0.01, 10)).toBeCloseTo(-2.7638, 3);
    expect(tQuantile(0.95, 1e9)).toBeCloseTo(1.6449, 3);
  });

  it('has upper tails that invert the quantiles', () => {
    expect(tUpperTail(2, 10)).toBeCloseTo(0.036694, 5);
    expect(tUpperTail(1, 1)).toBeCloseTo(0.25, 9);
    for (const df of [1, 2, 5, 17, 200]) expect(tUpperTail(tQuantile(0.9995, df), df)).toBeCloseTo(0.0005, 7);
  });
});
