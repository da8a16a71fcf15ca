import type { BaselineSample } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import {
  afterBatchMerge,
  afterCompose,
  type BatchAction,
  type BatchRunState,
  judgeBatch,
} from './batch-lifecycle.ts';
import { DEFAULT_ACCEPTANCE } from './stats.ts';

const HEAD = 'c'.repeat(40);
const baselines: BaselineSample[] = [1.0, 1.001, 0.999].map((v, i) => ({
  valBpb: v,
  steps: 100,
  tokensM: null,
  experimentId: `bl${i}`,
  peakVramMb: null,
}));
function state(valBpb: number | null, over: Partial<BatchRunState> = {}): BatchRunState {
  return {
    members: ['p1', 'p2'],
    base: HEAD,
    cls: 'cpu',
    run: {
      id: 'e9',
      status: valBpb === null ? 'crash' : 'ok',
      valBpb,
      workerId: 'w1',
      crashMessage: null,
      principal: 'lab',
      trusted: true,
    },
    earlier: [],
    baselines,
    noise: { sigma: 0.001, df: 10, samples: 13 },
    bestGain: 0.05,
    seed: 42,
    ...over,
  };
}
const types = (as: BatchAction[]) => as.map((a) => a.type);

describe('a re-verification batch, transition by transition', () => {
  it('merges every member in one commit when the union holds the gain', () => {
    const as = judgeBatch(state(0.98), DEFAULT_ACCEPTANCE);
    expect(as).toEqual([expect.objectContaining({ type: 'mergeBatch' })]);
  });

  it('does not merge on the runs of one untrusted principal: another principal runs the union again', () => {
    const byLiar = { principal: 'liar', trusted: false };
    const first = state(0.97, { run: { ...state(0.97).run, ...byLiar }, livePrincipals: ['liar', 'vol'] });
    const as = judgeBatch(first, DEFAULT_ACCEPTANCE);
    expect(types(as)).toEqual(['setVerdict', 'replicate']);
    expect(as[1]).toEqual({ type: 'replicate', seed: 42, excludePrincipals: ['liar'] });
    // With no other principal live, it does not hold the track's run slot waiting for one.
    const alone = judgeBatch({ ...first, livePrincipals: ['liar'] }, DEFAULT_ACCEPTANCE);
    expect(types(alone)).toEqual(['setVerdict', 'dissolve', 'finish']);
    // Another principal's run at the head's level: pooled with the lie it would pass (mean
    // 0.985, t −3.7); alone it does not hold the gain, so the members go back to one by one.
    const honest = { ...state(1.0).run, id: 'e10', principal: 'vol', trusted: false };
    const second = judgeBatch(
      state(1.0, { run: honest, earlier: [{ valBpb: 0.97, ...byLiar }] }),
      DEFAULT_ACCEPTANCE,
    );
    expect(types(second)).toEqual(['setVerdict', 'dissolve', 'finish']);
    expect(second[1]).toEqual(
      expect.objectContaining({ reason: expect.stringContaining('other principals') }),
    );
    // Where it holds the gain on its own, the batch merges.
    const held = judgeBatch(
      state(0.975, { run: { ...honest, valBpb: 0.975 }, earlier: [{ valBpb: 0.97, ...byLiar }] }),
      DEFAULT_ACCEPTANCE,
    );
    expect(types(held)).toEqual(['mergeBatch']);
  });

  it('runs the same union again near the threshold', () => {
    // Δ −0.00205 over one run: t −1.78, short of t(0.95, 10) = 1.81 (a re-verification's α).
    const as = judgeBatch(state(0.99795), DEFAULT_ACCEPTANCE);
    expect(types(as)).toEqual(['setVerdict', 'replicate']);
    expect(as[1]).toEqual({ type: 'replicate', seed: 42 });
    // Together with the earlier run, the union is decided.
    expect(
      types(
        judgeBatch(
          state(0.9975, { earlier: [{ valBpb: 0.99795, principal: 'lab', trusted: true }] }),
          DEFAULT_ACCEPTANCE,
        ),
      ),
    ).toEqual(['mergeBatch']);
  });

  it('dissolves into lone re-verifications when the union does not hold the gain', () => {
    const as = judgeBatch(state(1.0), DEFAULT_ACCEPTANCE);
    expect(types(as)).toEqual(['setVerdict', 'dissolve', 'finish']);
    expect(as[2]).toEqual({ type: 'finish', state: 'dissolved' });
  });

  it('dissolves when its run crashed', () => {
    expect(types(judgeBatch(state(null), DEFAULT_ACCEPTANCE))).toEqual(['setVerdict', 'dissolve', 'finish']);
  });

  it('quarantines an implausible run and dissolves', () => {
    const as = judgeBatch(state(0.6), DEFAULT_ACCEPTANCE);
    expect(as[0]).toMatchObject({ type: 'quarantine', workerId: 'w1' });
    expect(types(as)).toContain('dissolve');
  });

  it('asks for baselines of the head and dissolves when there are none yet', () => {
    const as = judgeBatch(state(0.98, { baselines: [] }), DEFAULT_ACCEPTANCE);
    expect(as[0]).toEqual({ type: 'ensureBaselines', commit: HEAD });
    expect(types(as)).toContain('dissolve');
  });

  it('judges a lone member as a re-verification of its own', () => {
    const as = judgeBatch(state(0.98, { members: ['p1'] }), DEFAULT_ACCEPTANCE);
    expect(as).toEqual([
      { type: 'judgeAlone', proposalId: 'p1' },
      { type: 'finish', state: 'judged' },
    ]);
  });

  it('marks every member merged with the one commit', () => {
    const decision = { ...judgeDecision(), reason: 'ok' };
    const as = afterBatchMerge(
      { runId: 'e9', base: HEAD, members: ['p1', 'p2'], decision },
      { status: 'merged', commit: HEAD },
    );
    const ends = as.filter((a) => a.type === 'forMember');
    expect(ends).toHaveLength(2);
    expect(ends[0]).toMatchObject({
      action: { type: 'end', status: 'merged', fields: { mergedCommit: HEAD } },
    });
  });

  it('sends the members round again when the head moved before the batch merged', () => {
    const as = afterBatchMerge(
      { runId: 'e9', base: HEAD, members: ['p1'], decision: judgeDecision() },
      { status: 'moved', head: 'd'.repeat(40) },
    );
    expect(types(as)).toEqual(['setVerdict', 'rejoin', 'finish']);
  });

  it('ends members that conflict or are already held when composed, and runs the rest', () => {
    const { included, actions } = afterCompose(
      ['p1', 'p2', 'p3'],
      [{ status: 'included' }, { status: 'conflict', hunk: 'h' }, { status: 'empty' }],
      HEAD,
    );
    expect(included).toEqual(['p1']);
    expect(actions.map((a) => a.type === 'forMember' && a.action.type === 'end' && a.action.status)).toEqual([
      'conflict',
      'stale',
    ]);
    expect(afterCompose(['p1'], [{ status: 'empty' }], HEAD).actions).toContainEqual({
      type: 'finish',
      state: 'dropped',
    });
  });
});

function judgeDecision() {
  const as = judgeBatch(state(0.98), DEFAULT_ACCEPTANCE);
  const m = as[0];
  if (m?.type !== 'mergeBatch') throw new Error('expected a merge');
  return m.decision;
}
