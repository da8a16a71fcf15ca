/**
 * Counters of proposers' answers, kept per (track, strategy, proposer): an LLM proposer's
 * invalid-answer rate is its own, not that of every proposer sharing its strategy's name.
 * Fields of the store's `counters` hash: `answers⇥track⇥strategy⇥proposer`,
 * `invalid⇥track⇥strategy⇥proposer` and `invalid⇥track⇥strategy⇥proposer⇥CODE`. Pure.
 */

/** Separator inside counter fields (never part of a track id; tabs are cut from names). */
const SEP = '\t';

import type { AnswerReport } from '@ratchet/proposers';

export type { AnswerReport };

export interface AnswerCounts {
  track: string;
  strategy: string;
  proposer: string;
  answers: number;
  invalid: number;
}

const clean = (s: string) => s.replaceAll(SEP, ' ');

/** The row key of the leaderboard and the metrics: track, strategy, proposer. */
export function answerRowKey(track: string, strategy: string, proposer: string): string {
  return [track, strategy, proposer].map(clean).join(SEP);
}

/** The counters one answer increments. */
export function answerCounterFields(a: AnswerReport): string[] {
  const row = answerRowKey(a.track, a.strategy, a.proposer);
  const out = [`answers${SEP}${row}`];
  if (a.invalidCode) out.push(`invalid${SEP}${row}`, `invalid${SEP}${row}${SEP}${clean(a.invalidCode)}`);
  return out;
}

/** Answer counts per row key, read from the counters hash. */
export function answerCounts(counters: Record<string, number>): Map<string, AnswerCounts> {
  const out = new Map<string, AnswerCounts>();
  for (const [field, n] of Object.entries(counters)) {
    const parts = field.split(SEP);
    const [kind, track, strategy, proposer] = parts;
    if (parts.length !== 4 || (kind !== 'answers' && kind !== 'invalid')) continue;
    if (track === undefined || strategy === undefined || proposer === undefined) continue;
    const key = answerRowKey(track, strategy, proposer);
    const row = out.get(key) ?? { track, strategy, proposer, answers: 0, invalid: 0 };
    if (kind === 'answers') row.answers += n;
    else row.invalid += n;
    out.set(key, row);
  }
  return out;
}
