import { describe, expect, it } from 'vitest';
import { createMutationCore } from './mutation-proposer.ts';
import type { ProposerHistory, ProposerPort } from './port.ts';

/** A track of one constant, held in memory: every proposal ends discarded at once. */
function oneConstantTrack() {
  const history: ProposerHistory = { items: [], inFlight: [] };
  const port: ProposerPort = {
    frontier: async () => ({
      head: 'a'.repeat(40),
      editable: ['train.py'],
      files: { 'train.py': 'LR = 0.1\n' },
    }),
    history: async () => history,
    submit: async (p) => {
      history.items.push({
        description: p.description,
        status: 'discarded',
        hardwareClass: 'cpu',
        delta: 0.01,
        proposer: p.proposer,
        crashTail: null,
        base: p.base,
      });
      return { id: `p${history.items.length}`, created: true };
    },
    countAnswer: async () => {},
  };
  return { port, history };
}

describe('mutation core', () => {
  it('says once, in words, when it has tried every edit it knows on the head', async () => {
    const { port, history } = oneConstantTrack();
    const said: string[] = [];
    const core = createMutationCore(port, { track: 't', python: null, log: (m) => said.push(m) });
    let made = 0;
    for (let i = 0; i < 10; i++) made += await core.fill(2);
    expect(made).toBe(history.items.length);
    expect(made).toBeGreaterThan(0);
    expect(await core.fill(2)).toBe(0);
    expect(said.filter((m) => m.includes('tried every edit'))).toEqual([
      `the search has tried every edit it knows on ${'a'.repeat(7)}; nothing more is queued until the frontier moves or a proposal is submitted`,
    ]);
  });
});
