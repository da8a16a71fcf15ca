import { describe, expect, it } from 'vitest';
import { lineHunks, mergeLines } from './line-merge.ts';

const BASE = ['A = 1', 'B = 2', 'C = 3', 'D = 4', ''].join('\n');
const set = (text: string, name: string, value: string) =>
  text.replace(new RegExp(`^${name} = .*$`, 'm'), `${name} = ${value}`);

describe('the line merge', () => {
  it('finds zero-context hunks of an edit', () => {
    expect(lineHunks(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual([{ start: 1, end: 2, lines: ['x'] }]);
    expect(lineHunks(['a', 'c'], ['a', 'b', 'c'])).toEqual([{ start: 1, end: 1, lines: ['b'] }]);
    expect(lineHunks(['a', 'b', 'c'], ['a', 'c'])).toEqual([{ start: 1, end: 2, lines: [] }]);
  });

  it('merges changes of neighbouring lines', () => {
    const m = mergeLines(BASE, set(BASE, 'B', '20'), set(BASE, 'C', '30'));
    expect(m).toEqual({ status: 'merged', text: set(set(BASE, 'B', '20'), 'C', '30') });
  });

  it('merges a change next to lines the other side inserted or deleted', () => {
    const inserted = BASE.replace('B = 2\n', 'B = 2\nB2 = 5\n');
    expect(mergeLines(BASE, inserted, set(BASE, 'C', '30'))).toEqual({
      status: 'merged',
      text: inserted.replace('C = 3', 'C = 30'),
    });
    const deleted = BASE.replace('B = 2\n', '');
    expect(mergeLines(BASE, deleted, set(BASE, 'A', '10'))).toEqual({
      status: 'merged',
      text: deleted.replace('A = 1', 'A = 10'),
    });
  });

  it('keeps a change of the same line on both sides a conflict', () => {
    expect(mergeLines(BASE, set(BASE, 'B', '20'), set(BASE, 'B', '21'))).toEqual({
      status: 'conflict',
      line: 2,
    });
  });

  it('keeps overlapping ranges and insertions at the same place conflicts', () => {
    const two = set(set(BASE, 'B', '20'), 'C', '30');
    expect(mergeLines(BASE, two, set(BASE, 'C', '31')).status).toBe('conflict');
    const here = (x: string) => BASE.replace('C = 3\n', `${x}\nC = 3\n`);
    expect(mergeLines(BASE, here('X = 1'), here('Y = 1')).status).toBe('conflict');
    // An insertion inside a range the other side rewrote.
    const rewrote = BASE.replace('B = 2\nC = 3\n', 'BC = 6\n');
    expect(mergeLines(BASE, rewrote, BASE.replace('B = 2\n', 'B = 2\nX = 1\n')).status).toBe('conflict');
  });

  it('counts the same change on both sides once', () => {
    const b = set(BASE, 'B', '20');
    expect(mergeLines(BASE, b, b)).toEqual({ status: 'merged', text: b });
  });
});
