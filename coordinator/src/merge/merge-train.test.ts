/** The merge train against a real coordinator's git frontier and Redis store. */
import type { DecisionRecord } from '@ratchet/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { qualityPatch, startCoordinator, type TestCoordinator } from '../../../test/support/harness.ts';
import { createMergeTrain } from './merge-train.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const decision: DecisionRecord = {
  verdict: 'accept',
  reason: 'confirmed',
  hardwareClass: 'cpu',
  candidateSamples: [0.97, 0.971],
  baselineSamples: [1.0, 1.001],
  n: 2,
  m: 2,
  candidateMean: 0.9705,
  baselineMean: 1.0005,
  delta: -0.03,
  sigma: 0.001,
  df: 10,
  t: -30,
  tCrit: 2.76,
  margin: 0.002,
};

describe('merge train', () => {
  it("records a winner's runs as baselines of its commit before the branch moves there", async () => {
    t = await startCoordinator();
    const deps = t.c.deps;
    const base = await deps.frontier.head('standin');
    const { proposal } = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.970000'),
      description: 'lower QUALITY',
    });
    // What a worker leasing at that moment would see: the head, and its baselines.
    const seen: { head: string | null; samples: number }[] = [];
    const train = createMergeTrain({
      ...deps,
      recordRuns: async (track, commit, cls, runs) => {
        for (const r of runs) await deps.store.addBaselineSample(track, commit, cls, { ...r });
        seen.push({
          head: await deps.frontier.head(track),
          samples: (await deps.store.getBaselineSamples(track, commit, cls)).length,
        });
      },
    });
    const runs = [0.97, 0.971].map((valBpb, i) => ({
      experimentId: `merge-run-${i}`,
      valBpb,
      steps: 100,
      tokensM: null,
      peakVramMb: null,
    }));
    const p = (await deps.store.getProposal(proposal.id))!;
    const out = await train.merge({ proposal: p, decision, runs });
    expect(out.status).toBe('merged');
    expect(seen).toEqual([{ head: base, samples: 2 }]);
    const head = await deps.frontier.head('standin');
    expect(head).not.toBe(base);
    expect(await deps.store.getBaselineSamples('standin', head!, 'cpu')).toHaveLength(2);
  });
});
