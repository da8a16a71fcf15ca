import { describe, expect, it } from 'vitest';
import type { DashExperiment } from './dashboard.ts';
import { frontierClasses, frontierSeries } from './frontier-series.ts';

type Row = Parameters<typeof frontierSeries>[0][number];
const row = (
  id: string,
  at: number | null,
  v: number | null,
  verdict: DashExperiment['verdict'],
  over: Partial<Row> = {},
): Row => ({
  id,
  track: 't',
  hardwareClass: 'a',
  valBpb: v,
  recordedAt: at,
  verdict,
  description: id,
  mergedCommit: null,
  ...over,
});

describe('frontier series', () => {
  const rows: Row[] = [
    row('b1', 1, 1.0, 'baseline'),
    row('d1', 2, 1.05, 'discard'),
    row('k1', 3, 0.95, 'keep', { mergedCommit: 'm1' }),
    row('k1c', 4, 0.96, 'keep', { mergedCommit: 'm1' }),
    row('q', null, null, null),
    row('crash', 5, null, 'crash'),
    row('other', 6, 0.5, 'baseline', { hardwareClass: 'b' }),
    row('b2', 7, 0.951, 'baseline'),
  ];
  it('holds the measured runs of one class in time order, with the running best and one mark per merge', () => {
    const s = frontierSeries(rows, 't', 'a');
    expect(s.points.map((p) => [p.id, p.kind])).toEqual([
      ['b1', 'baseline'],
      ['d1', 'discarded'],
      ['k1', 'kept'],
      ['k1c', 'kept'],
      ['b2', 'baseline'],
    ]);
    expect(s.best).toEqual([1.0, 1.0, 0.95, 0.95, 0.95]);
    expect(s.merges).toEqual([{ at: 4, commit: 'm1', description: 'k1c', valBpb: 0.96 }]);
  });
  it('lists the classes that measured something, the busiest first', () => {
    expect(frontierClasses(rows, 't')).toEqual(['a', 'b']);
    expect(frontierClasses(rows, 'none')).toEqual([]);
  });
});
