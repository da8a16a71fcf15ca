/**
 * One proposer design: the mutation proposer speaks the same port as the Ollama proposer
 * (`@ratchet/proposers`' ProposerPort), so its answers are counted per proposer and it reads
 * the same history the API serves, against a real coordinator (Redis, git).
 */
import { createMutationProposer } from '@ratchet/coordinator';
import { OPEN_PROPOSAL_STATUSES } from '@ratchet/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { PYTHON, startCoordinator, type TestCoordinator } from './support/harness.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('the mutation proposer on the proposer port', () => {
  it('fills the queue on the head and counts its answers on the leaderboard as its own', async () => {
    t = await startCoordinator();
    let n = 0;
    const random = () => {
      n = (n * 9301 + 49297) % 233280;
      return (n + 0.5) / 233280;
    };
    const p = createMutationProposer(t.c.deps, { track: 'standin', python: PYTHON, perWorker: 3, random });
    expect(await p.tick()).toBe(3);
    // Full: the next round makes nothing.
    expect(await p.tick()).toBe(0);
    const head = (await t.admin.tracks.get.query({ id: 'standin' })).head;
    const history = await t.admin.proposals.history.query({ track: 'standin', limit: 1000 });
    expect(history.inFlight).toHaveLength(3);
    for (const x of history.inFlight) {
      expect(x.base).toBe(head);
      expect(OPEN_PROPOSAL_STATUSES).toContain(x.status);
    }
    const row = (await t.admin.leaderboard.query()).find((r) => r.proposer === 'mutation');
    expect(row).toMatchObject({ strategy: 'mutation-search', proposals: 3, answers: 3, invalidAnswers: 0 });
  });
});
