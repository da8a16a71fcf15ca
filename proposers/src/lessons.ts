/**
 * What the mutation search learns from a track's history of proposals. Pure.
 *
 * A mutation's description is one or more moves joined by ` + `, each
 * `NAME from -> to (up|down)`. From the outcomes it derives:
 * - direction scores: kept moves attract, crashes and regressions repel;
 * - failed moves: an edit `NAME from -> to` that crashed, or was no better at all, on any
 *   base, is not tried again (a regression rarely turns into a gain when other constants move);
 * - near winners: moves that looked better on a base but were not confirmed; two of them
 *   together may beat the noise where each alone did not;
 * - momentum: the step (factor) of a kept move, tried again and doubled from the value it
 *   reached, so that a long way to an optimum takes few merges.
 * The history may come in any order.
 */

export interface HistoryItem {
  description: string;
  /** merged, discarded, crashed, … */
  status: string;
  /** The last run's delta against its baseline (negative is better). */
  delta: number | null;
  /** The commit it was proposed on, when known. */
  base?: string;
}

export interface Move {
  name: string;
  from: string;
  to: string;
  direction: 'up' | 'down';
}

const MOVE = /^([A-Z][A-Z0-9_]*) (\S+) -> (\S+) \((up|down)\)$/;

export function describeMove(m: Move): string {
  return `${m.name} ${m.from} -> ${m.to} (${m.direction})`;
}

/** The moves a description names; empty for descriptions that are not mutations. */
export function parseMoves(description: string): Move[] {
  const out: Move[] = [];
  for (const part of description.split(' + ')) {
    const m = MOVE.exec(part.trim());
    if (!m) return [];
    out.push({ name: m[1]!, from: m[2]!, to: m[3]!, direction: m[4] as 'up' | 'down' });
  }
  return out;
}

/** The key of an edit regardless of the base it was made on. */
export const moveKey = (m: Pick<Move, 'name' | 'from' | 'to'>) => `${m.name} ${m.from} -> ${m.to}`;

/**
 * The multiplicative step of a float move: to/from, or (1−to)/(1−from) for momentum-like
 * values in (0.5, 1). Null for integers and zeros.
 */
export function stepFactor(m: Move): number | null {
  const a = Number(m.from);
  const b = Number(m.to);
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return null;
  if (/^[-+]?\d+$/.test(m.from) && /^[-+]?\d+$/.test(m.to)) return null;
  if (a > 0.5 && a < 1 && b > 0.5 && b < 1) return (1 - b) / (1 - a);
  return b / a;
}

export interface Lessons {
  /** Per `NAME direction`. */
  scores: Map<string, number>;
  /** moveKey of edits not to try again. */
  failed: Set<string>;
  /** Near winners per base: single moves that looked better but were not confirmed. */
  near: Map<string, { move: Move; delta: number }[]>;
  /** The step of a kept move, by `NAME value` of the value it reached. */
  momentum: Map<string, { direction: 'up' | 'down'; factor: number }>;
}

const WORSE = new Set(['crashed', 'patch_failed']);

export function learn(history: readonly HistoryItem[]): Lessons {
  const scores = new Map<string, number>();
  const failed = new Set<string>();
  const near = new Map<string, { move: Move; delta: number }[]>();
  const momentum = new Map<string, { direction: 'up' | 'down'; factor: number }>();
  const add = (key: string, s: number) => scores.set(key, (scores.get(key) ?? 0) + s);
  for (const h of history) {
    const moves = parseMoves(h.description);
    if (moves.length === 0) continue;
    for (const m of moves) {
      const key = `${m.name} ${m.direction}`;
      if (h.status === 'merged') add(key, 2);
      else if (WORSE.has(h.status)) add(key, -1.5);
      else if (h.status === 'discarded') add(key, h.delta !== null && h.delta < 0 ? 0.3 : -0.5);
    }
    const single = moves.length === 1 ? moves[0]! : null;
    if (WORSE.has(h.status) || (h.status === 'discarded' && (h.delta === null || h.delta >= 0))) {
      // A combination that failed says nothing certain about each of its parts.
      if (single) failed.add(moveKey(single));
    }
    if (single && h.status === 'discarded' && h.delta !== null && h.delta < 0 && h.base) {
      const list = near.get(h.base) ?? [];
      list.push({ move: single, delta: h.delta });
      near.set(h.base, list);
    }
    if (h.status === 'merged') {
      for (const m of moves) {
        const factor = stepFactor(m);
        if (factor !== null) momentum.set(`${m.name} ${m.to}`, { direction: m.direction, factor });
      }
    }
  }
  return { scores, failed, near, momentum };
}
