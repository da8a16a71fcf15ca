import type { FrontierSeries } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { niceTicks, progressSvg } from './svg.ts';

const series: FrontierSeries = {
  track: 'tiny',
  hardwareClass: 'cpu-x64-2c',
  points: [
    { id: 'b1', at: 1, valBpb: 1.0, kind: 'baseline', description: 'baseline abc' },
    { id: 'd1', at: 2, valBpb: 1.02, kind: 'discarded', description: 'worse' },
    { id: 'k1', at: 3, valBpb: 0.95, kind: 'kept', description: 'LR 0.003 -> 0.006 <up> & "more"' },
    { id: 'd2', at: 4, valBpb: 0.97, kind: 'discarded', description: 'meh' },
  ],
  best: [1.0, 1.0, 0.95, 0.95],
  merges: [{ at: 3, commit: 'f'.repeat(40), description: 'LR', valBpb: 0.95 }],
};

describe("upstream's progress picture", () => {
  it('draws one dot per experiment by kind, labels the kept ones and escapes their text', () => {
    const svg = progressSvg(series);
    const count = (k: string) => svg.split(`<circle class="${k}"`).length - 1;
    expect([count('baseline'), count('discarded'), count('kept')]).toEqual([1, 2, 1]);
    expect(svg).toContain('tiny on cpu-x64-2c: 4 Experiments, 1 Kept Improvements');
    expect(svg).toContain('LR 0.003 -&gt; 0.006 &lt;up&gt; &amp; &quot;more&quot;');
    expect(svg).not.toContain('<up>');
    // The running best steps down once, at the kept point.
    const d = /<path class="best" d="([^"]+)"/.exec(svg)?.[1] ?? '';
    expect(d.match(/V/g)).toHaveLength(1);
  });

  it('draws an empty frame when nothing was measured', () => {
    const svg = progressSvg({ ...series, points: [], best: [], merges: [] });
    expect(svg).toContain('0 Experiments, 0 Kept Improvements');
    expect(svg).not.toContain('<circle class=');
  });

  it('picks round ticks', () => {
    expect(niceTicks(0.9, 1.0, 5)).toEqual([0.9, 0.92, 0.94, 0.96, 0.98, 1]);
    expect(niceTicks(0, 8)).toEqual([0, 2, 4, 6, 8]);
  });
});
