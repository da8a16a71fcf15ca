import { describe, expect, it } from 'vitest';
import { candidateSeed } from './seeds.ts';

describe('candidate seeds', () => {
  it('gives each proposal and run its own seed, outside the baselines’ range', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `p-${i.toString(36)}-abcdef`);
    const seeds = ids.flatMap((id) => [0, 1, 2, 3].map((r) => candidateSeed(42, id, r)));
    expect(new Set(seeds).size).toBe(seeds.length);
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThan(42 + 1000 + 1000);
      expect(s).toBeLessThan(2 ** 31);
    }
    expect(candidateSeed(42, 'p-1-abcdef', 0)).toBe(candidateSeed(42, 'p-1-abcdef', 0));
  });
});
