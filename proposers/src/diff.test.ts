/** unifiedDiff is checked against real `git apply`: apply(diff(a, b), a) = b for random edits. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unifiedDiff } from './constants.ts';

const dir = mkdtempSync(join(tmpdir(), 'ratchet-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Apply a patch to `before` with git, as the worker does, and return the result. */
function gitApply(before: string, patch: string): string {
  writeFileSync(join(dir, 'train.py'), before);
  writeFileSync(join(dir, 'p.diff'), patch);
  execFileSync('git', ['apply', 'p.diff'], { cwd: dir, stdio: 'pipe' });
  return readFileSync(join(dir, 'train.py'), 'utf8');
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = ['LR = 0.003', 'x = 1', '', 'def f():', '    return 2', '# note', 'DEPTH = 8', 'y = x'];

function randomFile(r: () => number): string {
  const n = Math.floor(r() * 8);
  const lines = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]!);
  const text = lines.join('\n');
  return n > 0 && r() < 0.8 ? `${text}\n` : text;
}

/** A random edit: replace, insert or delete a few lines anywhere, end of file included. */
function randomEdit(text: string, r: () => number): string {
  const eol = text.endsWith('\n') || text === '';
  const lines = text === '' ? [] : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const at = Math.floor(r() * (lines.length + 1));
  const del = Math.floor(r() * Math.min(3, lines.length - at + 1));
  const add = Array.from({ length: Math.floor(r() * 3) }, (_, i) => `NEW_${i} = ${Math.floor(r() * 100)}`);
  lines.splice(at, del, ...add);
  if (lines.length === 0) return '';
  const keepEol = r() < 0.85 ? eol : !eol;
  return `${lines.join('\n')}${keepEol ? '\n' : ''}`;
}

describe('unifiedDiff', () => {
  it('adds lines after the last line of a file', () => {
    const a = 'A = 1\nB = 2\n';
    const b = 'A = 1\nB = 2\nC = 3\nD = 4\n';
    expect(gitApply(a, unifiedDiff('train.py', a, b))).toBe(b);
  });

  it('changes the first line and a file without a final newline', () => {
    const a = 'A = 1\nB = 2';
    const b = 'A = 9\nB = 2\n';
    expect(gitApply(a, unifiedDiff('train.py', a, b))).toBe(b);
  });

  it('is empty when nothing changed', () => {
    expect(unifiedDiff('train.py', 'A = 1\n', 'A = 1\n')).toBe('');
  });

  it('round-trips 300 random edits through git apply', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const a = randomFile(r);
      const b = randomEdit(a, r);
      const patch = unifiedDiff('train.py', a, b);
      if (a === b) {
        expect(patch).toBe('');
        continue;
      }
      let got: string;
      try {
        got = gitApply(a, patch);
      } catch (e) {
        throw new Error(
          `seed ${seed}: git apply refused\n${patch}\n${String((e as { stderr?: Buffer }).stderr)}`,
        );
      }
      expect({ seed, got }).toEqual({ seed, got: b });
    }
  });
});
