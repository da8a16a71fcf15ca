import { describe, expect, it } from 'vitest';
import { formatTable } from './table.ts';

describe('formatTable', () => {
  it('aligns columns, numbers to the right and words to the left', () => {
    const out = formatTable(
      ['worker', 'state', 'done', 'best'],
      [
        ['local-cpu', 'running', 12, '3.301234'],
        ['gpu-box-7', 'idle', 3, '0.997900'],
        ['x', 'leasing', 120, ''],
      ],
    );
    expect(out.split('\n')).toEqual([
      '  worker     state    done      best',
      '  local-cpu  running    12  3.301234',
      '  gpu-box-7  idle        3  0.997900',
      '  x          leasing   120',
    ]);
  });

  it('prints only the header when there are no rows', () => {
    expect(formatTable(['a', 'bb'], [])).toBe('  a  bb');
  });
});
