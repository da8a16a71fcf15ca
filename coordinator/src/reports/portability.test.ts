import { formatPortabilityMatrix } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { pooledNoise } from '../pipeline/stats.ts';
import { portabilityCell } from './portability.ts';

const opts = { alpha: 0.01, sigmaFloor: 1e-4, origin: false, queued: false };
const noise = pooledNoise([
  [1.0, 1.002, 0.998],
  [0.95, 0.951, 0.949],
]);

describe('portability cells', () => {
  it('holds when the commit beats its parent on the class, beyond the noise', () => {
    const c = portabilityCell('cuda-rtx4090-24g', [0.95, 0.951], [1.0, 1.002, 0.998], noise, opts);
    expect(c.state).toBe('held');
    expect(c.delta).toBeCloseTo(-0.0495, 6);
    expect(c.significant).toBe(true);
  });

  it('is reversed when the commit is worse there, and marks a difference inside the noise', () => {
    const worse = portabilityCell('mps-m4max-128g', [1.05], [1.0], noise, opts);
    expect(worse.state).toBe('reversed');
    const tiny = portabilityCell('mps-m4max-128g', [1.0001], [1.0], noise, opts);
    expect(tiny.state).toBe('reversed');
    expect(tiny.significant).toBe(false);
  });

  it('is not measured until both the commit and its parent have runs', () => {
    const c = portabilityCell('cpu-x64-epyc-2c', [0.95], [], noise, { ...opts, queued: true });
    expect(c).toMatchObject({ state: 'not_measured', delta: null, queued: true, commitMean: 0.95 });
  });

  it('prints one row per merged commit and one column per class', () => {
    const text = formatPortabilityMatrix({
      track: 'tiny',
      classes: ['cpu-a', 'cpu-b', 'cpu-c'],
      rows: [
        {
          commit: 'abcdef0123456789abcdef0123456789abcdef01',
          parent: '0'.repeat(40),
          description: 'wider MLP',
          mergedAt: 0,
          originClass: 'cpu-a',
          cells: [
            portabilityCell('cpu-a', [0.95], [1.0], noise, { ...opts, origin: true }),
            portabilityCell('cpu-b', [1.05], [1.0], noise, opts),
            portabilityCell('cpu-c', [], [1.0], noise, { ...opts, queued: true }),
          ],
        },
      ],
    });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^commit\s+description\s+cpu-a\s+cpu-b\s+cpu-c$/);
    expect(lines[1]).toMatch(/^abcdef0\s+wider MLP\s+-0\.050000 held \*\s+\+0\.050000 reversed\s+queued$/);
  });
});
