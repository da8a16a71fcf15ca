import { describe, expect, it } from 'vitest';
import { baselineSeed, candidateSeed } from './seeds.ts';

describe('seeds', () => {
  const ids = Array.from({ length: 200 }, (_, i) => `p-${i.toString(36)}-abcdef`);
  const commits = Array.from({ length: 200 }, (_, i) =>
    (i * 7919 + 1).toString(16).padStart(8, '0').repeat(5),
  );

  it('gives each proposal and run its own seed, outside the baselines’ range', () => {
    const seeds = ids.flatMap((id) => [0, 1, 2, 3].map((r) => candidateSeed(42, id, r)));
    expect(new Set(seeds).size).toBe(seeds.length);
    const lowestBaseline = Math.min(...commits.map((c) => baselineSeed(42, c, 0)));
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThan(42 + 1000 + 1000);
      expect(s).toBeLessThan(lowestBaseline);
    }
    expect(candidateSeed(42, 'p-1-abcdef', 0)).toBe(candidateSeed(42, 'p-1-abcdef', 0));
  });

  it('gives each commit’s baseline replicates seeds of their own: no two commits share one', () => {
    const seeds = commits.flatMap((c) => [0, 1, 2, 3, 4].map((i) => baselineSeed(42, c, i)));
    expect(new Set(seeds).size).toBe(seeds.length);
    for (const s of seeds) expect(s).toBeLessThan(2 ** 31);
  });
});
