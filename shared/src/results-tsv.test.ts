import { describe, expect, it } from 'vitest';
import { formatResultRow, formatResultsTsv } from './results-tsv.ts';

const row = {
  commit: 'abcdef0123456789abcdef0123456789abcdef01',
  valBpb: 0.9979,
  peakVramMb: 45060.2,
  status: 'keep' as const,
  description: 'baseline',
  hardwareClass: 'cuda-h100-80gb-hbm3',
  worker: 'lab-1',
  proposer: 'ratchet',
  delta: null,
};

describe('results.tsv', () => {
  it('writes upstream five columns first, in upstream formats', () => {
    const out = formatResultsTsv([row]).split('\n');
    expect(out[0]).toBe(
      'commit\tval_bpb\tmemory_gb\tstatus\tdescription\thardware\tworker\tproposer\tdelta\tstage\treason',
    );
    expect(out[1]).toBe('abcdef0\t0.997900\t44.0\tkeep\tbaseline\tcuda-h100-80gb-hbm3\tlab-1\tratchet\t\t\t');
  });

  it('writes crash rows as 0.000000 and 0.0, and signs deltas', () => {
    expect(
      formatResultRow({ ...row, status: 'crash', delta: -0.1 })
        .split('\t')
        .slice(1, 4),
    ).toEqual(['0.000000', '0.0', 'crash']);
    expect(formatResultRow({ ...row, status: 'discard', delta: 0.0012 }).split('\t')[8]).toBe('+0.001200');
    expect(formatResultRow({ ...row, delta: -0.02 }).split('\t')[8]).toBe('-0.020000');
  });

  it('keeps tabs and newlines in descriptions from breaking the format', () => {
    expect(formatResultRow({ ...row, description: 'a\tb\nc' }).split('\t')[4]).toBe('a b c');
  });
});
