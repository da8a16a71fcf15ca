import { describe, expect, it } from 'vitest';
import { learn, parseMoves } from './lessons.ts';
import { type HistoryItem, mutatedNames, proposeMutation } from './mutation.ts';

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SRC = 'LEARNING_RATE = 0.002\nWEIGHT_DECAY = 0.1\nDEPTH = 2\n';

function draws(history: HistoryItem[], n: number, base?: string, source = SRC): string[] {
  const rnd = seeded(11);
  return Array.from(
    { length: n },
    () =>
      proposeMutation({ source, history, random: rnd, tried: new Set(), ...(base ? { base } : {}) })!
        .description,
  );
}

describe('what the mutation search learns', () => {
  it('parses single and combined moves, and nothing else', () => {
    expect(parseMoves('A_LR 0.1 -> 0.2 (up) + DEPTH 2 -> 3 (up)')).toEqual([
      { name: 'A_LR', from: '0.1', to: '0.2', direction: 'up' },
      { name: 'DEPTH', from: '2', to: '3', direction: 'up' },
    ]);
    expect(parseMoves('wider MLP')).toEqual([]);
    expect(mutatedNames('A_LR 0.1 -> 0.2 (up) + DEPTH 2 -> 3 (up)')).toEqual(['A_LR', 'DEPTH']);
  });

  it('does not try again, on a new base, an edit that crashed or did not help', () => {
    const history: HistoryItem[] = [
      { description: 'LEARNING_RATE 0.002 -> 0.004 (up)', status: 'discarded', delta: 0.03, base: 'old' },
      { description: 'DEPTH 2 -> 3 (up)', status: 'crashed', delta: null, base: 'old' },
    ];
    const seen = draws(history, 300, 'new');
    expect(seen).not.toContain('LEARNING_RATE 0.002 -> 0.004 (up)');
    expect(seen).not.toContain('DEPTH 2 -> 3 (up)');
    // …unless nothing else is left.
    const only = proposeMutation({
      source: 'DEPTH = 2\n',
      history: [{ description: 'DEPTH 2 -> 3 (up)', status: 'crashed', delta: null }],
      random: seeded(1),
      tried: new Set(['DEPTH 2 -> 1 (down)']),
    });
    expect(only?.description).toBe('DEPTH 2 -> 3 (up)');
  });

  it('combines two moves that each looked better without being confirmed', () => {
    const history: HistoryItem[] = [
      { description: 'LEARNING_RATE 0.002 -> 0.0028 (up)', status: 'discarded', delta: -0.004, base: 'h' },
      { description: 'WEIGHT_DECAY 0.1 -> 0.05 (down)', status: 'discarded', delta: -0.003, base: 'h' },
    ];
    const seen = draws(history, 60, 'h');
    const combo = 'LEARNING_RATE 0.002 -> 0.0028 (up) + WEIGHT_DECAY 0.1 -> 0.05 (down)';
    expect(seen.filter((d) => d === combo).length).toBeGreaterThan(10);
    const m = proposeMutation({ source: SRC, history, random: () => 0.999, tried: new Set(), base: 'h' });
    expect(m?.description).toBe(combo);
    expect(m?.source).toBe('LEARNING_RATE = 0.0028\nWEIGHT_DECAY = 0.05\nDEPTH = 2\n');
    // Not on another base: the head moved since.
    expect(draws(history, 60, 'other')).not.toContain(combo);
  });

  it('repeats the step that paid off, and twice it', () => {
    const history: HistoryItem[] = [
      { description: 'LEARNING_RATE 0.001 -> 0.002 (up)', status: 'merged', delta: -0.05 },
    ];
    expect(learn(history).momentum.get('LEARNING_RATE 0.002')).toEqual({ direction: 'up', factor: 2 });
    const seen = draws(history, 400);
    expect(seen).toContain('LEARNING_RATE 0.002 -> 0.008 (up)');
    const doubling = seen.filter((d) => d === 'LEARNING_RATE 0.002 -> 0.004 (up)').length;
    const without = draws([], 400).filter((d) => d === 'LEARNING_RATE 0.002 -> 0.004 (up)').length;
    expect(doubling).toBeGreaterThan(2 * without);
  });

  it('refines with half steps when both nearest steps failed', () => {
    const history: HistoryItem[] = [
      { description: 'LEARNING_RATE 0.002 -> 0.0028 (up)', status: 'discarded', delta: 0.01 },
      { description: 'LEARNING_RATE 0.002 -> 0.0014 (down)', status: 'discarded', delta: 0.02 },
    ];
    const seen = new Set(draws(history, 400));
    expect(seen).toContain('LEARNING_RATE 0.002 -> 0.00237 (up)');
    expect(seen).toContain('LEARNING_RATE 0.002 -> 0.00167 (down)');
    expect(new Set(draws([], 400))).not.toContain('LEARNING_RATE 0.002 -> 0.00237 (up)');
  });
});
