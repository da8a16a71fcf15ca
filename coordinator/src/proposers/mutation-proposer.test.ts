/**
 * The mutation proposer's round reads the work in flight, not the whole history: proposals
 * that ended are read once. Rounds are frequent and share the coordinator with every lease.
 */
import { afterEach, expect, it } from 'vitest';
import { qualityPatch, startCoordinator, type TestCoordinator } from '../../../test/support/harness.ts';
import { monitorPrefix } from '../../../test/support/redis-monitor.ts';
import { moveProposal } from '../proposals/proposal-status.ts';
import { createMutationProposer, openTarget } from './mutation-proposer.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

it('reads a proposal that has ended only once, whatever the number of rounds', async () => {
  t = await startCoordinator();
  const deps = t.c.deps;
  let seed = 7;
  const random = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  // Many proposals that have all ended, as a search's do; then a round keeps two in flight.
  for (let i = 0; i < 30; i++) {
    const r = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', (0.9 - i / 1000).toFixed(6)),
      description: `try ${i}`,
    });
    await moveProposal(deps, r.proposal.id, 'discarded', 'no gain');
  }
  const small = createMutationProposer(deps, { track: 'standin', python: null, perWorker: 2, random });
  expect(await small.tick()).toBe(2);
  const m = await monitorPrefix(t.prefix);
  try {
    const before = m.count();
    expect(await small.tick()).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    // A round with nothing to add: the track, the workers, the proposal ids, one read of the
    // two open proposals and of their last runs. Reading every proposal made it 60 and more.
    expect(m.count() - before).toBeLessThanOrEqual(12);
  } finally {
    m.close();
  }
});

it('counts queued proposals of an older base towards its depth: they run on the head', async () => {
  t = await startCoordinator();
  const deps = t.c.deps;
  const proposer = createMutationProposer(deps, { track: 'standin', python: null, perWorker: 2 });
  expect(await proposer.tick()).toBe(2);
  // Another winner moves the head; the two queued proposals will be rebased onto it when
  // leased, so the queue is still as deep as it should be.
  const base = (await deps.frontier.head('standin'))!;
  await deps.frontier.commitPatch({
    trackId: 'standin',
    base,
    patch: qualityPatch('1.000000', '0.990000'),
    message: 'another winner',
  });
  expect(await deps.frontier.head('standin')).not.toBe(base);
  expect(await proposer.tick()).toBe(0);
});

it('keeps twice the workers open, but never more than four beyond one each', () => {
  // One and four workers as before; 16 keep 20 open, not 32 made blind to each other.
  expect([1, 2, 4, 8, 16, 64].map(openTarget)).toEqual([2, 4, 8, 12, 20, 68]);
});
