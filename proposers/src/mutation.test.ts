import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkPatch } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { findConstants, formatValue, unifiedDiff } from './constants.ts';
import { directionScores, keepsDivisibility, mutatedName, proposeMutation } from './mutation.ts';

const TINY = readFileSync(resolve(import.meta.dirname, '../../tracks/tiny/train.py'), 'utf8');

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('constants', () => {
  it('finds the top-level numeric constants of the tiny track, and its fixed ones', () => {
    const c = findConstants(TINY);
    const names = c.map((x) => x.name);
    expect(names).toEqual(
      expect.arrayContaining(['DEPTH', 'N_EMBD', 'N_HEAD', 'LEARNING_RATE', 'WEIGHT_DECAY', 'BATCH_SIZE']),
    );
    expect(c.find((x) => x.name === 'LEARNING_RATE')).toMatchObject({ value: 0.003, isInt: false });
    expect(c.find((x) => x.name === 'N_EMBD')).toMatchObject({ value: 128, isInt: true });
    expect(c.find((x) => x.name === 'UNTIMED_STEPS')?.fixed).toBe(true);
  });

  it('formats values as Python literals', () => {
    expect(formatValue(0.006, false)).toBe('0.006');
    expect(formatValue(2, false)).toBe('2.0');
    expect(formatValue(0.0001234, false)).toBe('1.23e-4');
    expect(formatValue(64, true)).toBe('64');
  });
});

describe('proposeMutation', () => {
  it('edits whole identifiers only: EMBEDDING_LR never touches UNEMBEDDING_LR', () => {
    const src = 'UNEMBEDDING_LR = 0.004\nEMBEDDING_LR = 0.6\nx = EMBEDDING_LR * UNEMBEDDING_LR\n';
    for (let i = 0; i < 20; i++) {
      const m = proposeMutation({ source: src, history: [], random: seeded(i), tried: new Set() })!;
      const changed = m.source.split('\n').filter((l, j) => l !== src.split('\n')[j]);
      expect(changed).toHaveLength(1);
      expect(changed[0]!.startsWith(`${m.name} = `)).toBe(true);
      expect(m.source).toContain('x = EMBEDDING_LR * UNEMBEDDING_LR');
    }
  });

  it('keeps widths divisible by head counts', () => {
    const consts = findConstants('N_EMBD = 128\nN_HEAD = 4\n');
    expect(keepsDivisibility(consts, 'N_HEAD', 5)).toBe(false);
    expect(keepsDivisibility(consts, 'N_HEAD', 8)).toBe(true);
    expect(keepsDivisibility(consts, 'N_EMBD', 96)).toBe(true);
    for (let i = 0; i < 50; i++) {
      const m = proposeMutation({
        source: 'N_EMBD = 128\nN_HEAD = 4\n',
        history: [],
        random: seeded(i),
        tried: new Set(),
      })!;
      expect(m.description).not.toMatch(/N_HEAD 4 -> [35]/);
    }
  });

  it('never proposes what was already tried on this base', () => {
    const src = 'LR = 0.1\n';
    const tried = new Set<string>();
    const seen: string[] = [];
    for (;;) {
      const m = proposeMutation({ source: src, history: [], random: seeded(seen.length), tried });
      if (!m) break;
      expect(seen).not.toContain(m.description);
      seen.push(m.description);
      tried.add(m.description);
    }
    expect(seen).toHaveLength(4);
  });

  it('spreads over constants that have no open proposal yet', () => {
    const src = 'A_LR = 0.1\nB_LR = 0.1\nC_LR = 0.1\n';
    const rnd = seeded(3);
    const names = (busy: Set<string>) =>
      Array.from(
        { length: 300 },
        () => proposeMutation({ source: src, history: [], random: rnd, tried: new Set(), busy })!.name,
      );
    const free = names(new Set(['A_LR', 'B_LR'])).filter((n) => n === 'C_LR').length;
    expect(free / 300).toBeGreaterThan(0.85);
    expect(mutatedName('B_LR 0.1 -> 0.2 (up)')).toBe('B_LR');
    expect(mutatedName('lower QUALITY')).toBeNull();
    // Busy constants are still proposed when nothing else is left.
    expect(
      proposeMutation({
        source: 'A_LR = 0.1\n',
        history: [],
        random: rnd,
        tried: new Set(),
        busy: new Set(['A_LR']),
      })?.name,
    ).toBe('A_LR');
  });

  it('moves along directions that helped', () => {
    const history = [
      { description: 'LEARNING_RATE 0.003 -> 0.006 (up)', status: 'merged', delta: -0.05 },
      { description: 'LEARNING_RATE 0.006 -> 0.012 (up)', status: 'merged', delta: -0.02 },
      { description: 'BATCH_SIZE 32 -> 64 (up)', status: 'crashed', delta: null },
    ];
    expect(directionScores(history).get('LEARNING_RATE up')).toBe(4);
    const count = (h: typeof history) => {
      let n = 0;
      const rnd = seeded(7);
      for (let i = 0; i < 400; i++) {
        const m = proposeMutation({ source: TINY, history: h, random: rnd, tried: new Set() })!;
        if (m.name === 'LEARNING_RATE' && m.direction === 'up') n++;
      }
      return n;
    };
    expect(count(history)).toBeGreaterThan(3 * count([]));
  });

  it('produces patches that pass the policy and apply with git', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratchet-mut-'));
    try {
      writeFileSync(join(dir, 'train.py'), TINY);
      execFileSync('git', ['init', '-q', dir]);
      for (let i = 0; i < 10; i++) {
        const m = proposeMutation({ source: TINY, history: [], random: seeded(100 + i), tried: new Set() })!;
        const patch = unifiedDiff('train.py', TINY, m.source);
        expect(checkPatch(patch, { editable: ['train.py'] }).ok).toBe(true);
        writeFileSync(join(dir, 'p.diff'), patch);
        execFileSync('git', ['-C', dir, 'apply', '--check', 'p.diff']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
