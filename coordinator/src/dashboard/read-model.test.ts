import type { DashSnapshot, Experiment, Proposal } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { diffSnapshots, experimentRow, keysOf, workerState } from './read-model.ts';

const exp = (over: Partial<Experiment> = {}): Experiment => ({
  id: 'exp_000001',
  track: 'tiny',
  kind: 'candidate',
  proposalId: 'prop_000001',
  base: 'a'.repeat(40),
  hardwareClass: 'cpu-2c',
  status: 'ok',
  verdict: 'discard',
  verdictReason: null,
  workerId: 'w_000001',
  seed: 1,
  metrics: { val_bpb: 1.01 } as Experiment['metrics'],
  extra: {},
  crash: null,
  baselineBpb: 1.0,
  delta: 0.01,
  logTail: 'log',
  timings: null,
  progress: null,
  createdAt: 1,
  leasedAt: 2,
  finishedAt: 3,
  recordedAt: 4,
  attempts: 1,
  stage: 'screen',
  excludeWorkerId: null,
  batchId: null,
  batch: false,
  members: [],
  patch: null,
  ...over,
});

const prop = (over: Partial<Proposal> = {}): Proposal =>
  ({
    id: 'prop_000001',
    track: 'tiny',
    description: 'wider MLP',
    proposer: 'alice',
    strategy: 'by-hand',
    status: 'discarded',
    mergedCommit: null,
    verdictReason: 'final: no gain',
    ...over,
  }) as Proposal;

describe('experiment rows', () => {
  it('carry the run’s own reason in words, else the proposal’s', () => {
    expect(
      experimentRow(exp({ verdictReason: 'screen: +0.01 does not beat 2σ' }), prop(), 'w1', () => undefined)
        .reason,
    ).toBe('screen: +0.01 does not beat 2σ');
    const r = experimentRow(exp(), prop(), 'w1', () => undefined);
    expect(r).toMatchObject({
      reason: 'final: no gain',
      description: 'wider MLP',
      proposer: 'alice',
      workerName: 'w1',
    });
  });

  it('name the merge commit only on kept runs of a merged proposal', () => {
    const merged = prop({ status: 'merged', mergedCommit: 'c'.repeat(40) });
    expect(experimentRow(exp({ verdict: 'keep' }), merged, null, () => undefined).mergedCommit).toBe(
      'c'.repeat(40),
    );
    expect(experimentRow(exp({ verdict: 'discard' }), merged, null, () => undefined).mergedCommit).toBeNull();
  });

  it('describe baselines by their commit and batches by their members', () => {
    expect(
      experimentRow(exp({ kind: 'baseline', proposalId: null }), null, null, () => undefined),
    ).toMatchObject({
      description: 'baseline aaaaaaa',
      proposer: 'ratchet',
    });
    const members = new Map([
      ['p1', prop({ description: 'one' })],
      ['p2', prop({ description: 'two' })],
    ]);
    const row = experimentRow(
      exp({ batch: true, members: ['p1', 'p2'], proposalId: null }),
      null,
      null,
      (id) => members.get(id),
    );
    expect(row.description).toBe('together: one; two');
  });
});

describe('worker state', () => {
  const o = { now: 100_000, liveWindowMs: 60_000, pollWindowMs: 25_000 };
  it('tells running (with progress), preparing, leasing, idle and gone apart', () => {
    const progress = { step: 3, percent: 10, line: 'step 00003 (10.0%)' };
    expect(workerState({ lastSeenAt: 99_000 }, { id: 'e' }, progress, o)).toBe('running');
    expect(workerState({ lastSeenAt: 99_000 }, { id: 'e' }, null, o)).toBe('preparing');
    expect(workerState({ lastSeenAt: 90_000 }, null, null, o)).toBe('leasing');
    expect(workerState({ lastSeenAt: 50_000 }, null, null, o)).toBe('idle');
    expect(workerState({ lastSeenAt: 10_000 }, { id: 'e' }, progress, o)).toBe('gone');
  });
});

describe('snapshot diffs', () => {
  const base: DashSnapshot = {
    at: 1,
    tracks: [{ id: 'tiny', description: '', head: 'h1', budgetS: 300 }],
    workers: [],
    queue: { depths: { 'eval.tiny': 1 }, next: [], batches: [] },
    leaderboard: [],
    portability: [],
    experiments: [experimentRow(exp(), prop(), null, () => undefined)],
  };
  it('is null when nothing changed but the time', () => {
    expect(diffSnapshots(keysOf(base), { ...base, at: 2 }, keysOf({ ...base, at: 2 }))).toBeNull();
  });
  it('holds only the changed sections and rows', () => {
    const row2 = experimentRow(exp({ id: 'exp_000002' }), prop(), null, () => undefined);
    const next: DashSnapshot = {
      ...base,
      at: 2,
      queue: { depths: { 'eval.tiny': 0 }, next: [], batches: [] },
      experiments: [base.experiments[0]!, row2],
    };
    const d = diffSnapshots(keysOf(base), next, keysOf(next));
    expect(d).toEqual({ type: 'diff', at: 2, queue: next.queue, experiments: [row2] });
  });
});
