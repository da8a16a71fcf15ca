import { describe, expect, it } from 'vitest';
import { changedLines, collide } from './rivals.ts';

const constant = (line: number, name: string, from: string, to: string) =>
  [
    '--- a/train.py',
    '+++ b/train.py',
    `@@ -${line - 1},3 +${line - 1},3 @@`,
    ' # above',
    `-${name} = ${from}`,
    `+${name} = ${to}`,
    ' # below',
    '',
  ].join('\n');

describe('rival patches', () => {
  it('reads the base lines a patch changes, not its context', () => {
    expect([...changedLines(constant(8, 'LR', '0.01', '0.02'))!]).toEqual(['train.py:8']);
  });

  it('collide when they change a line in common, not when they only touch', () => {
    expect(collide(constant(8, 'LR', '0.01', '0.02'), constant(8, 'LR', '0.01', '0.005'))).toBe(true);
    expect(collide(constant(8, 'LR', '0.01', '0.02'), constant(9, 'WD', '0.1', '0.2'))).toBe(false);
  });

  it('never hold for a patch that cannot be read in process', () => {
    expect(changedLines('not a patch')).toBeNull();
    expect(collide('not a patch', constant(8, 'LR', '0.01', '0.02'))).toBe(false);
  });
});
