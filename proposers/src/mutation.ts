/**
 * The mutation proposer: a search over the numeric constants of a track's editable file
 * that needs no LLM. Steps: multiplicative for real-valued settings (×0.5, ×0.7, ×1.4, ×2;
 * on 1−β for momentum-like values in (0.5, 1)), ×2/÷2 for power-of-two integers ≥ 16,
 * ±1 for other integers. Divisibility between widths and head counts is kept. It learns
 * from the track's history: directions that were kept are tried again more often,
 * directions that crashed or regressed less often. Pure: randomness is injected.
 */
import { findConstants, formatValue, type NumericConstant, replaceConstant } from './constants.ts';

export interface HistoryItem {
  description: string;
  /** merged, discarded, crashed, … */
  status: string;
  delta: number | null;
}

export interface Mutation {
  name: string;
  from: string;
  to: string;
  direction: 'up' | 'down';
  source: string;
  description: string;
}

const DESC = /^([A-Z][A-Z0-9_]*) (\S+) -> (\S+) \((up|down)\)/;

/** The constant a mutation's description names, or null for other descriptions. */
export function mutatedName(description: string): string | null {
  return DESC.exec(description)?.[1] ?? null;
}

export function describe(name: string, from: string, to: string, direction: 'up' | 'down'): string {
  return `${name} ${from} -> ${to} (${direction})`;
}

function isPow2(n: number) {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function candidatesFor(c: NumericConstant): { value: number; direction: 'up' | 'down' }[] {
  const v = c.value;
  if (c.isInt) {
    if (v >= 16 && isPow2(v))
      return [
        { value: v * 2, direction: 'up' },
        { value: v / 2, direction: 'down' },
      ];
    const out: { value: number; direction: 'up' | 'down' }[] = [{ value: v + 1, direction: 'up' }];
    if (v - 1 >= 1) out.push({ value: v - 1, direction: 'down' });
    return out;
  }
  if (v === 0) return [{ value: 0.05, direction: 'up' }];
  if (v > 0.5 && v < 1) {
    // Momentum-like: move 1−v multiplicatively, so 0.95 goes to 0.975 or 0.9, never past 1.
    return [0.5, 2].map((f) => ({ value: 1 - (1 - v) * f, direction: f < 1 ? 'up' : 'down' }));
  }
  return [0.5, 0.7, 1.4, 2].map((f) => ({ value: v * f, direction: f > 1 ? 'up' : 'down' }));
}

/** Widths must stay divisible by head counts (N_EMBD % N_HEAD, DIM % HEADS…). */
export function keepsDivisibility(consts: NumericConstant[], name: string, value: number): boolean {
  const next = new Map(consts.map((c) => [c.name, c.value]));
  next.set(name, value);
  for (const w of consts) {
    if (!w.isInt || !/EMBD|DIM|WIDTH|HIDDEN/.test(w.name)) continue;
    for (const h of consts) {
      if (!h.isInt || !/HEAD/.test(h.name) || w.value % h.value !== 0) continue;
      if (next.get(w.name)! % next.get(h.name)! !== 0) return false;
    }
  }
  return true;
}

/** A score per (name, direction): kept moves attract, crashes and regressions repel. */
export function directionScores(history: readonly HistoryItem[]): Map<string, number> {
  const scores = new Map<string, number>();
  for (const h of history) {
    const m = DESC.exec(h.description);
    if (!m) continue;
    const key = `${m[1]} ${m[4]}`;
    let s = scores.get(key) ?? 0;
    if (h.status === 'merged') s += 2;
    else if (h.status === 'crashed' || h.status === 'patch_failed') s -= 1.5;
    else if (h.status === 'discarded') s -= h.delta !== null && h.delta < 0 ? 0.1 : 0.5;
    scores.set(key, s);
  }
  return scores;
}

export function proposeMutation(opts: {
  source: string;
  history: readonly HistoryItem[];
  random: () => number;
  /** Descriptions already tried on this base: never propose them again. */
  tried: ReadonlySet<string>;
  /**
   * Constants with a proposal still open on this base. Two winners on one constant conflict,
   * so with many workers the search spreads over the others first.
   */
  busy?: ReadonlySet<string>;
}): Mutation | null {
  const consts = findConstants(opts.source).filter((c) => !c.fixed);
  const scores = directionScores(opts.history);
  const options: (Mutation & { weight: number })[] = [];
  for (const c of consts) {
    for (const cand of candidatesFor(c)) {
      const to = formatValue(cand.value, c.isInt);
      if (to === c.raw || Number(to) === c.value) continue;
      if (c.isInt && !keepsDivisibility(consts, c.name, Number(to))) continue;
      const description = describe(c.name, c.raw, to, cand.direction);
      if (opts.tried.has(description)) continue;
      const score = scores.get(`${c.name} ${cand.direction}`) ?? 0;
      options.push({
        name: c.name,
        from: c.raw,
        to,
        direction: cand.direction,
        source: replaceConstant(opts.source, c, to),
        description,
        weight: Math.exp(Math.max(-4, Math.min(4, score))) * (opts.busy?.has(c.name) ? 0.05 : 1),
      });
    }
  }
  if (options.length === 0) return null;
  const total = options.reduce((s, o) => s + o.weight, 0);
  let r = opts.random() * total;
  for (const o of options) {
    r -= o.weight;
    if (r <= 0) {
      const { weight: _w, ...m } = o;
      return m;
    }
  }
  const { weight: _w, ...last } = options[options.length - 1]!;
  return last;
}
