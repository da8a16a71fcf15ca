/**
 * The mutation proposer: a search over the numeric constants of a track's editable file
 * that needs no LLM. Steps: multiplicative for real-valued settings (×0.5, ×0.7, ×1.4, ×2;
 * on 1−β for momentum-like values in (0.5, 1)), ×2/÷2 for power-of-two integers ≥ 16,
 * ±1 for other integers. Divisibility between widths and head counts is kept. It learns
 * from the track's history (lessons.ts): directions that were kept are tried more often and
 * with the step that paid off (and twice it); a value whose nearest steps both failed is
 * refined with half steps; an edit that crashed or did not help is not tried again; two
 * moves that each looked better without being confirmed are tried together. Pure:
 * randomness is injected.
 */
import { findConstants, formatValue, type NumericConstant, replaceConstant } from './constants.ts';
import { type HistoryItem, type Lessons, learn, type Move, moveKey, parseMoves } from './lessons.ts';

export type { HistoryItem } from './lessons.ts';

export interface Mutation {
  /** The first (or only) constant it edits. */
  name: string;
  from: string;
  to: string;
  direction: 'up' | 'down';
  /** Every move, in file order of proposal (one, or several when winners are combined). */
  moves: Move[];
  source: string;
  description: string;
}

/** The constant a mutation's description names first, or null for other descriptions. */
export function mutatedName(description: string): string | null {
  return parseMoves(description)[0]?.name ?? null;
}

/** Every constant a mutation's description names. */
export function mutatedNames(description: string): string[] {
  return parseMoves(description).map((m) => m.name);
}

export function describe(name: string, from: string, to: string, direction: 'up' | 'down'): string {
  return `${name} ${from} -> ${to} (${direction})`;
}

function isPow2(n: number) {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

interface Step {
  value: number;
  direction: 'up' | 'down';
  /** Weight multiplier: momentum steps are favoured. */
  boost: number;
}

const COARSE = [0.5, 0.7, 1.4, 2];
const MOMENTUM_LIKE = [0.5, 2];

function candidatesFor(c: NumericConstant, lessons: Lessons, failedHere: (to: string) => boolean): Step[] {
  const v = c.value;
  if (c.isInt) {
    if (v >= 16 && isPow2(v))
      return [
        { value: v * 2, direction: 'up', boost: 1 },
        { value: v / 2, direction: 'down', boost: 1 },
      ];
    const out: Step[] = [{ value: v + 1, direction: 'up', boost: 1 }];
    if (v - 1 >= 1) out.push({ value: v - 1, direction: 'down', boost: 1 });
    return out;
  }
  if (v === 0) return [{ value: 0.05, direction: 'up', boost: 1 }];
  // Momentum-like values move on 1−v, so 0.95 goes to 0.975 or 0.9, never past 1.
  const beta = v > 0.5 && v < 1;
  const apply = (f: number) => (beta ? 1 - (1 - v) * f : v * f);
  const dir = (f: number): 'up' | 'down' => ((beta ? f < 1 : f > 1) ? 'up' : 'down');
  const factors = new Map<number, number>((beta ? MOMENTUM_LIKE : COARSE).map((f) => [f, 1]));
  // The step that paid off last time, and twice it (within ×4).
  const mom = lessons.momentum.get(`${c.name} ${c.raw}`);
  if (mom) {
    const clamp = (f: number) => Math.min(4, Math.max(0.25, f));
    for (const f of [mom.factor, mom.factor ** 2]) factors.set(clamp(f), 3);
  }
  // Both nearest steps failed from here: the optimum is closer, try half steps.
  const ups = [...factors.keys()].filter((f) => f > 1);
  const downs = [...factors.keys()].filter((f) => f < 1);
  const nearUp = Math.min(...ups);
  const nearDown = Math.max(...downs);
  if (failedHere(formatValue(apply(nearUp), false)) && failedHere(formatValue(apply(nearDown), false))) {
    factors.set(Math.sqrt(nearUp), 1.5);
    factors.set(Math.sqrt(nearDown), 1.5);
  }
  return [...factors].map(([f, boost]) => ({ value: apply(f), direction: dir(f), boost }));
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
  return learn(history).scores;
}

interface Option extends Omit<Mutation, 'source'> {
  weight: number;
  /** Repeats an edit that failed on another base: only when nothing else is left. */
  repeat: boolean;
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
  /** The commit the source is; near winners on it are combined. */
  base?: string;
}): Mutation | null {
  const consts = findConstants(opts.source).filter((c) => !c.fixed);
  const lessons = learn(opts.history);
  const options: Option[] = [];
  const make = (moves: Move[], weight: number, repeat: boolean): Option => {
    const description = moves.map((m) => describe(m.name, m.from, m.to, m.direction)).join(' + ');
    const first = moves[0]!;
    return { ...first, moves, description, weight, repeat };
  };
  for (const c of consts) {
    const failedHere = (to: string) => {
      const key = moveKey({ name: c.name, from: c.raw, to });
      return lessons.failed.has(key);
    };
    for (const cand of candidatesFor(c, lessons, failedHere)) {
      const to = formatValue(cand.value, c.isInt);
      if (to === c.raw || Number(to) === c.value) continue;
      if (c.isInt && !keepsDivisibility(consts, c.name, Number(to))) continue;
      const move: Move = { name: c.name, from: c.raw, to, direction: cand.direction };
      if (opts.tried.has(describe(c.name, c.raw, to, cand.direction))) continue;
      if (options.some((o) => o.description === describe(c.name, c.raw, to, cand.direction))) continue;
      const score = lessons.scores.get(`${c.name} ${cand.direction}`) ?? 0;
      const weight =
        Math.exp(Math.max(-4, Math.min(4, score))) * cand.boost * (opts.busy?.has(c.name) ? 0.05 : 1);
      options.push(make([move], weight, lessons.failed.has(moveKey(move))));
    }
  }
  // Near winners on this base, best first: together they may beat the noise.
  const near = (opts.base ? (lessons.near.get(opts.base) ?? []) : [])
    .filter(({ move }) => consts.some((c) => c.name === move.name && c.raw === move.from))
    .sort((a, b) => a.delta - b.delta);
  const names = new Set<string>();
  const winners = near.filter(({ move }) => !names.has(move.name) && names.add(move.name)).map((n) => n.move);
  const fresh = options.filter((o) => !o.repeat);
  const singles = fresh.reduce((a, o) => a + o.weight, 0);
  for (const k of [2, 3]) {
    if (winners.length < k) break;
    const moves = winners.slice(0, k);
    const ok = moves.every((m, i) => {
      const c = consts.find((x) => x.name === m.name)!;
      return !c.isInt || keepsDivisibility(consts, m.name, Number(moves[i]!.to));
    });
    const combo = make(moves, Math.max(1, singles) * 0.5, false);
    if (ok && !opts.tried.has(combo.description)) fresh.push(combo);
  }
  const pool = fresh.length > 0 ? fresh : options;
  if (pool.length === 0) return null;
  const total = pool.reduce((a, o) => a + o.weight, 0);
  let r = opts.random() * total;
  let chosen = pool[pool.length - 1]!;
  for (const o of pool) {
    r -= o.weight;
    if (r <= 0) {
      chosen = o;
      break;
    }
  }
  const { weight: _w, repeat: _r, ...m } = chosen;
  let source = opts.source;
  for (const mv of m.moves) {
    const c = findConstants(source).find((x) => x.name === mv.name)!;
    source = replaceConstant(source, c, mv.to);
  }
  return { ...m, source };
}
