import { type DecisionRecord, Experiment, Proposal } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { explainBaseline, explainCandidate } from './explain.ts';

const cfg = { minBaselineSamples: 3, minNoiseDf: 4, maxReplicates: 4 };
const SHA = 'a'.repeat(40);

const run = Experiment.parse({
  id: 'exp-000001',
  track: 'tiny-cpu',
  kind: 'candidate',
  proposalId: 'prop-000001',
  base: SHA,
  hardwareClass: 'cpu-x64-2c',
  status: 'ok',
  verdict: 'promising',
  verdictReason: null,
  workerId: null,
  seed: 1,
  metrics: null,
  crash: null,
  baselineBpb: null,
  delta: null,
  logTail: '',
  timings: null,
  progress: null,
  createdAt: 0,
  leasedAt: null,
  finishedAt: null,
  recordedAt: 1,
  attempts: 1,
});

function proposal(status: Proposal['status'], d: Partial<DecisionRecord>): Proposal {
  return Proposal.parse({
    id: 'prop-000001',
    track: 'tiny-cpu',
    base: SHA,
    patch: '',
    patchHash: 'h',
    description: 'LEARNING_RATE 0.003 -> 0.006 (up)',
    proposer: 'mutation',
    strategy: 'mutation-search',
    status,
    createdAt: 0,
    experimentIds: [],
    mergedCommit: null,
    verdictReason: null,
    decision: {
      verdict: 'replicate',
      reason: '',
      hardwareClass: 'cpu-x64-2c',
      candidateSamples: [],
      baselineSamples: [],
      n: 1,
      m: 5,
      candidateMean: 3.0,
      baselineMean: 3.07,
      delta: -0.07,
      sigma: 0.01,
      df: 4,
      t: -6.4,
      tCrit: 3.7,
      margin: 0.02,
      ...d,
    },
  });
}

describe('what ratchet up says it is waiting for', () => {
  it('counts the baseline runs the noise estimate still needs', () => {
    expect(explainBaseline({ have: 3, sigma: 0.01, df: 2 }, cfg)).toBe('measuring noise: baseline 3 of 5');
    expect(explainBaseline({ have: 1, sigma: Number.NaN, df: 0 }, cfg)).toBe(
      'measuring noise: baseline 1 of 5',
    );
    expect(explainBaseline({ have: 5, sigma: 0.0123, df: 4 }, cfg)).toMatch(
      /^noise: σ 0\.0123 over 4 degrees/,
    );
  });

  it('says a promising candidate is being confirmed, and how many runs it may take', () => {
    expect(explainCandidate(run, proposal('confirming', {}), cfg)).toBe(
      'candidate looks 0.070 better; confirming (run 2 of up to 4)',
    );
  });

  it('explains merges and discards with their numbers', () => {
    expect(explainCandidate(run, proposal('merged', { verdict: 'accept', n: 2 }), cfg)).toBe(
      'merged: 0.070 better over 2 run(s), t -6.4 < −3.7',
    );
    expect(explainCandidate(run, proposal('discarded', { verdict: 'reject', delta: -0.01 }), cfg)).toBe(
      'discarded: 0.010 better is within the noise (a screen must be 0.020 better)',
    );
    expect(explainCandidate(run, proposal('discarded', { verdict: 'reject', delta: 0.05 }), cfg)).toBe(
      'discarded: 0.050 worse',
    );
    expect(explainCandidate(run, null, cfg)).toBeNull();
  });
});
