import type { Proposal } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { type AnswerReport, answerCounterFields } from '../proposers/answers.ts';
import { buildLeaderboard } from './leaderboard.ts';

function proposal(id: string, proposer: string, strategy: string): Proposal {
  return {
    id,
    track: 'standin',
    base: 'a'.repeat(40),
    patch: '',
    patchHash: id,
    description: id,
    proposer,
    strategy,
    status: 'discarded',
    createdAt: 0,
    experimentIds: [],
    mergedCommit: null,
    verdictReason: null,
    decision: null,
    conflict: null,
    originalBase: null,
    rebases: 0,
    throttleRequeues: 0,
  };
}

/** The counters hash after these answers. */
function counted(answers: AnswerReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) for (const f of answerCounterFields(a)) out[f] = (out[f] ?? 0) + 1;
  return out;
}

const answer = (proposer: string, strategy: string, invalidCode: string | null): AnswerReport => ({
  track: 'standin',
  strategy,
  proposer,
  invalidCode,
});

describe('the leaderboard', () => {
  it('shows an LLM proposer whose every answer was invalid', () => {
    const counters = counted([
      answer('ollama:tiny', 'standin-program', 'RATCHET_E_LLM_INVALID_ANSWER'),
      answer('ollama:tiny', 'standin-program', 'RATCHET_E_EDIT_NO_MATCH'),
      answer('ollama:tiny', 'standin-program', 'RATCHET_E_LLM_INVALID_ANSWER'),
    ]);
    const rows = buildLeaderboard({
      tracks: [{ id: 'standin', proposals: [proposal('p1', 'alice', 'by-hand')] }],
      experiments: new Map(),
      counters,
    });
    expect(rows.map((r) => `${r.strategy}/${r.proposer}`).sort()).toEqual([
      'by-hand/alice',
      'standin-program/ollama:tiny',
    ]);
    expect(rows.find((r) => r.proposer === 'ollama:tiny')).toMatchObject({
      proposals: 0,
      answers: 3,
      invalidAnswers: 3,
      invalidRate: 1,
    });
  });

  it('counts answers per proposer, not per strategy name', () => {
    const counters = counted([
      answer('ollama:big', 'standin-program', null),
      answer('ollama:big', 'standin-program', null),
      answer('ollama:tiny', 'standin-program', 'RATCHET_E_EDIT_NO_MATCH'),
      answer('ollama:tiny', 'standin-program', null),
    ]);
    const rows = buildLeaderboard({
      tracks: [
        {
          id: 'standin',
          proposals: [
            proposal('p1', 'ollama:big', 'standin-program'),
            proposal('p2', 'ollama:big', 'standin-program'),
            proposal('p3', 'ollama:tiny', 'standin-program'),
          ],
        },
      ],
      experiments: new Map(),
      counters,
    });
    expect(rows.find((r) => r.proposer === 'ollama:big')).toMatchObject({
      proposals: 2,
      answers: 2,
      invalidAnswers: 0,
      invalidRate: 0,
    });
    expect(rows.find((r) => r.proposer === 'ollama:tiny')).toMatchObject({
      proposals: 1,
      answers: 2,
      invalidAnswers: 1,
      invalidRate: 0.5,
    });
  });

  it('leaves out answers counted on a track it does not show', () => {
    const rows = buildLeaderboard({
      tracks: [{ id: 'standin', proposals: [] }],
      experiments: new Map(),
      counters: counted([{ ...answer('ollama:tiny', 'x', null), track: 'other' }]),
    });
    expect(rows).toEqual([]);
  });
});
