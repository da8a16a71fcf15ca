import type { BaselineSample } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import {
  type Action,
  afterMerge,
  type CandidateState,
  type FinishedRun,
  type LifecycleConfig,
  nextStep,
  type RunView,
} from './lifecycle.ts';
import { candidateSeed } from './seeds.ts';
import { DEFAULT_ACCEPTANCE } from './stats.ts';

const cfg: LifecycleConfig = { acceptance: DEFAULT_ACCEPTANCE, seed: 42, maxThrottleRequeues: 3 };
const BASE = 'a'.repeat(40);
const HEAD = 'b'.repeat(40);
const baselines: BaselineSample[] = [1.0, 1.001, 0.999].map((v, i) => ({
  valBpb: v,
  steps: 100,
  tokensM: null,
  experimentId: `bl${i}`,
  peakVramMb: null,
}));
const noise = { sigma: 0.001, df: 10, samples: 13 };

function run(id: string, stage: RunView['stage'], valBpb: number, workerId = 'w1'): RunView {
  return {
    id,
    stage,
    valBpb,
    workerId,
    principal: { id: workerId, name: workerId },
    steps: 100,
    tokensM: null,
    peakVramMb: null,
  };
}
function finished(id: string, over: Partial<FinishedRun> = {}): FinishedRun {
  return {
    id,
    status: 'ok',
    stage: 'screen',
    seed: 42,
    excludeWorkerId: null,
    crash: null,
    throughput: { steps: 100, tokensM: null },
    ...over,
  };
}
function state(over: Partial<CandidateState> = {}): CandidateState {
  return {
    proposal: {
      id: 'p1',
      status: 'running',
      base: BASE,
      originalBase: null,
      decision: null,
      throttleRequeues: 0,
    },
    cls: 'cpu',
    finished: null,
    runs: [],
    baselines,
    noise,
    bestGain: 0.05,
    screenerTrusted: false,
    baselineExhausted: false,
    ...over,
  };
}
const types = (as: Action[]) => as.map((a) => a.type);
const ending = (as: Action[]) => as.find((a) => a.type === 'end' || a.type === 'advance');

describe('a lone proposal, transition by transition', () => {
  it('ends a proposal whose run crashed as crashed', () => {
    const as = nextStep(
      state({
        finished: finished('e1', { status: 'crash', crash: { reason: 'oom', message: 'out of memory' } }),
      }),
      cfg,
    );
    expect(as[0]).toMatchObject({ type: 'setVerdict', experimentId: 'e1', verdict: 'crash' });
    expect(ending(as)).toMatchObject({ type: 'end', status: 'crashed' });
  });

  it('ends a proposal whose patch did not apply on the worker as patch_failed', () => {
    const as = nextStep(state({ finished: finished('e1', { status: 'patch_failed' }) }), cfg);
    expect(ending(as)).toMatchObject({ type: 'end', status: 'patch_failed' });
  });

  it('queues a throttled run again on the same class with the same seed, up to a limit', () => {
    const slow = finished('e1', { throughput: { steps: 20, tokensM: null }, seed: 7, stage: 'confirm' });
    const as = nextStep(state({ finished: slow, runs: [run('e1', 'screen', 0.9)] }), cfg);
    expect(as[0]).toMatchObject({ verdict: 'throttled' });
    expect(as).toContainEqual({
      type: 'queueRun',
      stage: 'confirm',
      pinned: true,
      seed: 7,
      excludeWorkerId: null,
    });
    expect(ending(as)).toMatchObject({ type: 'advance', fields: { throttleRequeues: 1 } });
    const tooMany = nextStep(
      state({
        finished: slow,
        proposal: { ...state().proposal, throttleRequeues: 3 },
      }),
      cfg,
    );
    expect(ending(tooMany)).toMatchObject({ type: 'end', status: 'discarded' });
    expect(types(tooMany)).not.toContain('queueRun');
  });

  it('quarantines an implausible gain and never merges it', () => {
    const as = nextStep(state({ finished: finished('e1'), runs: [run('e1', 'screen', 0.6, 'liar')] }), cfg);
    expect(as[0]).toMatchObject({ type: 'quarantine', experimentId: 'e1', workerId: 'liar' });
    expect(ending(as)).toMatchObject({ type: 'end', status: 'quarantined' });
    expect(types(as)).not.toContain('merge');
  });

  it('parks a candidate without baselines until they arrive', () => {
    const as = nextStep(
      state({
        baselines: [],
        noise: { sigma: Number.NaN, df: 0, samples: 0 },
        runs: [run('e1', 'screen', 0.99)],
      }),
      cfg,
    );
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'awaiting_baseline' });
    expect(types(as)).toContain('awaitBaseline');
  });

  it('discards a candidate whose base never got a baseline because every baseline run crashed', () => {
    const as = nextStep(
      state({ baselines: [], baselineExhausted: true, runs: [run('e1', 'screen', 0.99)] }),
      cfg,
    );
    expect(ending(as)).toMatchObject({ type: 'end', status: 'discarded' });
    expect(types(as)).not.toContain('awaitBaseline');
  });

  it('discards a screen that does not beat the noise after one run', () => {
    const as = nextStep(state({ finished: finished('e1'), runs: [run('e1', 'screen', 0.9995)] }), cfg);
    expect(as[0]).toMatchObject({ type: 'setVerdict', verdict: 'discard' });
    expect(ending(as)).toMatchObject({ type: 'end', status: 'discarded' });
  });

  it('confirms a promising screen on another worker when the screener is not trusted', () => {
    const as = nextStep(state({ finished: finished('e1'), runs: [run('e1', 'screen', 0.99, 'w7')] }), cfg);
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'confirming' });
    expect(as).toContainEqual({
      type: 'queueRun',
      stage: 'confirm',
      pinned: true,
      seed: candidateSeed(42, 'p1', 1),
      excludeWorkerId: 'w7',
    });
  });

  it('lets a trusted screener confirm its own screen', () => {
    const as = nextStep(state({ screenerTrusted: true, runs: [run('e1', 'screen', 0.99, 'w7')] }), cfg);
    expect(as).toContainEqual(expect.objectContaining({ type: 'queueRun', excludeWorkerId: null }));
  });

  describe('a screen and a confirmation that disagree', () => {
    // Noise σ 0.001: the screen 0.99 and the confirmation 1.0 are 7σ apart (> 4·√2σ).
    const screen = run('e1', 'screen', 0.99, 'honest');
    const liarConfirm = run('e2', 'confirm', 1.0, 'liar');

    it('sends the dispute to a third principal instead of blaming the screener', () => {
      const as = nextStep(
        state({ finished: finished('e2', { stage: 'confirm' }), runs: [screen, liarConfirm] }),
        cfg,
      );
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'resetTrust' }));
      expect(as).not.toContainEqual(expect.objectContaining({ verdict: 'invalid' }));
      expect(ending(as)).toMatchObject({ type: 'advance', status: 'confirming' });
      expect((ending(as) as { reason: string }).reason).toContain('third principal');
      expect(as).toContainEqual({
        type: 'queueRun',
        stage: 'arbitrate',
        pinned: true,
        seed: candidateSeed(42, 'p1', 2),
        excludeWorkerId: null,
        excludePrincipals: ['honest', 'liar'],
      });
    });

    it('lets a trusted principal that disagrees with itself arbitrate its own dispute', () => {
      // One trusted token (a lab's pool, `ratchet up`): keeping it away left nobody to run
      // the arbitration, and the proposal waited for ever (the research bench's null patches).
      const disputed = (confirmer: string) =>
        nextStep(
          state({
            screenerTrusted: true,
            finished: finished('e2', { stage: 'confirm' }),
            runs: [run('e1', 'screen', 0.99, 'lab'), run('e2', 'confirm', 1.0, confirmer)],
          }),
          cfg,
        );
      const arbitration = (excludePrincipals: string[]) =>
        expect.objectContaining({ type: 'queueRun', stage: 'arbitrate', excludePrincipals });
      const own = disputed('lab');
      expect(own).toContainEqual(arbitration([]));
      expect((ending(own) as { reason: string }).reason).not.toContain('third principal');
      // Against another principal's confirmation it is a dispute between two: a third settles it.
      expect(disputed('other')).toContainEqual(arbitration(['lab', 'other']));
    });

    it('keeps waiting, queueing nothing more, when re-evaluated before the arbiter reports', () => {
      const confirming = { ...state().proposal, status: 'confirming' as const };
      expect(nextStep(state({ proposal: confirming, runs: [screen, liarConfirm] }), cfg)).toEqual([]);
    });

    it('when the arbiter agrees with the screen: the confirmation is invalid, its worker loses trust, the gain merges', () => {
      const arbiter = run('e3', 'arbitrate', 0.9902, 'third');
      const as = nextStep(
        state({ finished: finished('e3', { stage: 'arbitrate' }), runs: [screen, liarConfirm, arbiter] }),
        cfg,
      );
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e2', verdict: 'invalid' }),
      );
      expect(as).toContainEqual({ type: 'resetTrust', workerId: 'liar' });
      expect(as).not.toContainEqual({ type: 'resetTrust', workerId: 'honest' });
      expect(as).toContainEqual({ type: 'bumpTrust', workerIds: ['honest', 'third'] });
      const merge = as.find((a) => a.type === 'merge');
      expect(merge).toMatchObject({ decision: { verdict: 'accept', n: 2 } });
      expect((merge as { runs: RunView[] }).runs.map((r) => r.id)).toEqual(['e1', 'e3']);
    });

    it('when the arbiter agrees with the confirmation: the screen is invalid, its worker loses trust, the patch is judged on the rest', () => {
      const liarScreen = run('e1', 'screen', 0.99, 'liar');
      const honestConfirm = run('e2', 'confirm', 1.0, 'honest');
      const arbiter = run('e3', 'arbitrate', 0.9998, 'third');
      const as = nextStep(
        state({
          finished: finished('e3', { stage: 'arbitrate' }),
          runs: [liarScreen, honestConfirm, arbiter],
        }),
        cfg,
      );
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e1', verdict: 'invalid' }),
      );
      expect(as).toContainEqual({ type: 'resetTrust', workerId: 'liar' });
      expect(as).not.toContainEqual({ type: 'resetTrust', workerId: 'honest' });
      expect(as).toContainEqual({ type: 'bumpTrust', workerIds: ['honest', 'third'] });
      const end = ending(as) as { status: string; reason: string };
      expect(end).toMatchObject({ type: 'end', status: 'discarded' });
      expect(end.reason).toContain('the screen was wrong');
      expect(as.find((a) => a.type === 'merge')).toBeUndefined();
    });

    it('when the rest is near the threshold: the one more confirmation is kept from the principal found wrong', () => {
      // Noise σ 0.001 against baselines around 1.0: confirmation and arbiter 0.998 (t −2.4)
      // are near the threshold, not over it. The screen's principal is the one found wrong:
      // before, nothing kept it off the confirmation, and its lie carried the gain (CI).
      const as = nextStep(
        state({
          finished: finished('e3', { stage: 'arbitrate' }),
          runs: [
            run('e1', 'screen', 0.92, 'liar'),
            run('e2', 'confirm', 0.998, 'honest'),
            run('e3', 'arbitrate', 0.998, 'third'),
          ],
        }),
        cfg,
      );
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e1', verdict: 'invalid' }),
      );
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'queueRun', stage: 'confirm', excludePrincipals: ['liar'] }),
      );
      // And in every later step of the proposal, from what the driver reads back.
      const later = nextStep(
        state({
          finished: finished('e2', { stage: 'confirm' }),
          runs: [run('e2', 'confirm', 0.998, 'honest'), run('e3', 'arbitrate', 0.998, 'third')],
          blamed: ['liar'],
        }),
        cfg,
      );
      expect(later).toContainEqual(
        expect.objectContaining({ type: 'queueRun', stage: 'confirm', excludePrincipals: ['liar'] }),
      );
    });

    it('when the arbiter agrees with neither: discarded, nobody blamed', () => {
      const arbiter = run('e3', 'arbitrate', 1.02, 'third');
      const as = nextStep(
        state({ finished: finished('e3', { stage: 'arbitrate' }), runs: [screen, liarConfirm, arbiter] }),
        cfg,
      );
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'resetTrust' }));
      expect(ending(as)).toMatchObject({ type: 'end', status: 'discarded' });
    });

    it('when the arbiter agrees with neither while the noise estimate is young: waits for baselines, ends nothing', () => {
      // Seen in the lying-workers test: two honest runs 0.0015 apart "disagreed" at ν = 1 and
      // the liar, arbitrating, agreed with neither: the real gain was discarded.
      const arbiter = run('e3', 'arbitrate', 0.974, 'liar');
      const s = state({
        noise: { sigma: 0.0001, df: 1, samples: 4 },
        finished: finished('e3', { stage: 'arbitrate' }),
        runs: [run('e1', 'screen', 0.9931, 'honest'), run('e2', 'confirm', 0.9946, 'other'), arbiter],
      });
      const as = nextStep(s, cfg);
      expect(ending(as)).toMatchObject({ type: 'advance', status: 'awaiting_baseline' });
      expect(types(as)).toContain('awaitBaseline');
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'resetTrust' }));
      // Judged again on a grown estimate: the honest runs agree, the arbiter is found wrong
      // and the gain merges on the two.
      const later = nextStep({ ...s, finished: null, noise: { sigma: 0.0007, df: 8, samples: 14 } }, cfg);
      expect(later).toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e3', verdict: 'invalid' }),
      );
      expect(later).toContainEqual({ type: 'resetTrust', workerId: 'liar' });
      const merge = later.find((a) => a.type === 'merge') as { runs: RunView[] } | undefined;
      expect(merge?.runs.map((r) => r.id)).toEqual(['e1', 'e2']);
    });

    it('stays settled once the wrong side is invalid: later evaluations see only the runs that stand', () => {
      const arbiter = run('e3', 'arbitrate', 0.9902, 'third');
      const as = nextStep(state({ runs: [screen, arbiter] }), cfg);
      expect(as.find((a) => a.type === 'merge')).toMatchObject({ decision: { verdict: 'accept' } });
    });

    /** The step after the last of `runs`, a confirmation, reported. */
    const afterConfirm = (runs: RunView[]) =>
      nextStep(state({ finished: finished(runs[runs.length - 1]!.id, { stage: 'confirm' }), runs }), cfg);

    // Seen in CI (lying-workers): a null patch screened by one honest volunteer, confirmed
    // by a second, then by the liar. The mean of the confirmations disputed the screen and
    // the arbitration excluded all three principals: nobody left could run it, for ever.
    it('when confirmations of two principals split, the one agreeing with the screen settles it: no arbiter is needed', () => {
      const as = afterConfirm([
        run('e1', 'screen', 0.9994, 'a'),
        run('e2', 'confirm', 0.9998, 'c'),
        run('e3', 'confirm', 1.0194, 'liar'),
      ]);
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'queueRun', stage: 'arbitrate' }));
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e3', verdict: 'invalid' }),
      );
      expect(as).toContainEqual({ type: 'resetTrust', workerId: 'liar' });
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'resetTrust', workerId: 'a' }));
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'resetTrust', workerId: 'c' }));
      expect(as).not.toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e2', verdict: 'invalid' }),
      );
      expect(as).toContainEqual({ type: 'bumpTrust', workerIds: ['a', 'c'] });
    });

    it('when confirmations of two principals agree with each other against the screen: the screen was wrong', () => {
      const as = afterConfirm([
        run('e1', 'screen', 0.97, 'liar'),
        run('e2', 'confirm', 0.9998, 'b'),
        run('e3', 'confirm', 1.0004, 'c'),
      ]);
      expect(as).not.toContainEqual(expect.objectContaining({ type: 'queueRun', stage: 'arbitrate' }));
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'setVerdict', experimentId: 'e1', verdict: 'invalid' }),
      );
      expect(as).toContainEqual({ type: 'resetTrust', workerId: 'liar' });
      expect(ending(as)).toMatchObject({ type: 'end', status: 'discarded' });
    });

    it('keeps an arbitration away only from the principals in dispute', () => {
      // The same principal confirmed on both sides of the screen: it cannot settle it itself.
      const as = afterConfirm([
        run('e1', 'screen', 0.99, 'a'),
        run('e2', 'confirm', 0.9902, 'b'),
        run('e3', 'confirm', 1.02, 'b'),
      ]);
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'queueRun', stage: 'arbitrate', excludePrincipals: ['a', 'b'] }),
      );
    });

    it('gives a confirmation after a run was found invalid a seed no earlier run had', () => {
      const as = nextStep(
        state({
          proposal: { ...state().proposal, runsQueued: 3 },
          finished: finished('e1'),
          runs: [run('e1', 'screen', 0.99, 'w7')],
        }),
        cfg,
      );
      expect(as).toContainEqual(
        expect.objectContaining({ type: 'queueRun', seed: candidateSeed(42, 'p1', 3) }),
      );
    });
  });

  it('parks a clear gain that a young noise estimate keeps from an accept until more baselines arrive', () => {
    const runs = [0.9925, 0.9928, 0.9923, 0.9926].map((v, i) =>
      run(`e${i}`, i === 0 ? 'screen' : 'confirm', v, `w${i}`),
    );
    const as = nextStep(
      state({
        baselines: baselines.slice(0, 2).map((b, i) => ({ ...b, valBpb: [1.0, 1.0003][i]! })),
        noise: { sigma: 0.0003, df: 1, samples: 3 },
        finished: finished('e3', { stage: 'confirm' }),
        runs,
      }),
      cfg,
    );
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'awaiting_baseline' });
    // It says what it waits for: the reason of its last replicate ("one more replicate") was
    // left standing, and a proposal parked for want of baselines read as one that had run.
    expect((ending(as) as { reason?: string }).reason).toContain('waiting for baselines until ν ≥ 4');
    expect(as).toContainEqual({ type: 'awaitBaseline' });
  });

  it('waits for another principal, in words, while its base has only unverified baselines', () => {
    const as = nextStep(
      state({
        baselines: [],
        unverifiedBaselines: 3,
        finished: finished('e1'),
        runs: [run('e1', 'screen', 0.99)],
      }),
      cfg,
    );
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'awaiting_baseline' });
    expect((ending(as) as { reason: string }).reason).toContain('another principal to verify');
    expect(as).toContainEqual({ type: 'awaitBaseline' });
  });

  it('hands a confirmed winner to the merge train and credits both workers', () => {
    const as = nextStep(
      state({ runs: [run('e1', 'screen', 0.99, 'w1'), run('e2', 'confirm', 0.9905, 'w2')] }),
      cfg,
    );
    expect(as).toContainEqual({ type: 'bumpTrust', workerIds: ['w1', 'w2'] });
    const merge = as.find((a) => a.type === 'merge');
    expect(merge).toMatchObject({ decision: { verdict: 'accept', hardwareClass: 'cpu', n: 2 } });
  });

  it('merges a rebased winner after one significant run on the new head', () => {
    const accepted = nextStep(
      state({ runs: [run('e1', 'screen', 0.99), run('e2', 'confirm', 0.99, 'w2')] }),
      cfg,
    ).find((a) => a.type === 'merge');
    if (accepted?.type !== 'merge') throw new Error('expected a merge');
    const rebased = state({
      proposal: {
        id: 'p1',
        status: 'running',
        base: HEAD,
        originalBase: BASE,
        decision: accepted.decision,
        throttleRequeues: 0,
      },
      runs: [run('e3', 'screen', 0.99)],
      screenerTrusted: true,
    });
    expect(types(nextStep(rebased, cfg))).toContain('merge');
    // An untrusted worker's lone run on the new head is confirmed by another principal first.
    const untrusted = nextStep({ ...rebased, screenerTrusted: false }, cfg);
    expect(types(untrusted)).not.toContain('merge');
    expect(untrusted).toContainEqual(
      expect.objectContaining({ type: 'queueRun', stage: 'confirm', excludeWorkerId: 'w1' }),
    );
  });

  it('keeps a rebased winner re-verifiable by one run while it waits for baselines of the new head', () => {
    const accepted = nextStep(
      state({ runs: [run('e1', 'screen', 0.99), run('e2', 'confirm', 0.99, 'w2')] }),
      cfg,
    ).find((a) => a.type === 'merge');
    if (accepted?.type !== 'merge') throw new Error('expected a merge');
    const proposal = {
      id: 'p1',
      status: 'reverify' as const,
      base: HEAD,
      originalBase: BASE,
      decision: accepted.decision,
      throttleRequeues: 0,
    };
    const waiting = nextStep(state({ proposal, baselines: [], runs: [run('e3', 'screen', 0.99)] }), cfg);
    expect(ending(waiting)).toEqual({
      type: 'advance',
      status: 'awaiting_baseline',
      reason: 'waiting for baseline runs to measure the noise',
      fields: {},
    });
  });

  it('does nothing for a proposal that has already ended', () => {
    const done = state({
      proposal: { ...state().proposal, status: 'merged' },
      runs: [run('e1', 'screen', 0.9)],
    });
    expect(nextStep(done, cfg)).toEqual([]);
  });
});

describe('after the merge train answered', () => {
  const decision = {
    verdict: 'accept' as const,
    reason: 'confirmed',
    hardwareClass: 'cpu',
    candidateSamples: [0.99, 0.99],
    baselineSamples: [1, 1, 1],
    n: 2,
    m: 3,
    candidateMean: 0.99,
    baselineMean: 1,
    delta: -0.01,
    sigma: 0.001,
    df: 10,
    t: -10,
    tCrit: 2.7,
    margin: 0.002,
  };
  const s = {
    proposal: { base: BASE, originalBase: null, rebases: 0 },
    decision,
    runs: [run('e1', 'screen', 0.99), run('e2', 'confirm', 0.99)],
  };

  it('keeps every run of a merged winner and records its commit', () => {
    const as = afterMerge(s, { status: 'merged', commit: HEAD });
    expect(as.filter((a) => a.type === 'setVerdict').map((a) => 'verdict' in a && a.verdict)).toEqual([
      'keep',
      'keep',
    ]);
    expect(ending(as)).toMatchObject({ type: 'end', status: 'merged', fields: { mergedCommit: HEAD } });
  });

  it('ends a winner whose rebase conflicts as conflict, with the hunk', () => {
    const as = afterMerge(s, { status: 'conflict', head: HEAD, hunk: '<<<<<<<' });
    expect(ending(as)).toMatchObject({ type: 'end', status: 'conflict', fields: { conflict: '<<<<<<<' } });
  });

  it('ends a winner the head already holds as stale', () => {
    expect(ending(afterMerge(s, { status: 'stale', head: HEAD, reason: 'held' }))).toMatchObject({
      status: 'stale',
    });
  });

  it('sends a winner rebased onto a moved head to re-verification in a batch', () => {
    const as = afterMerge(s, { status: 'reverify', head: HEAD, patch: 'diff' });
    expect(ending(as)).toMatchObject({
      type: 'advance',
      status: 'reverify',
      fields: { base: HEAD, patch: 'diff', originalBase: BASE, rebases: 1 },
    });
    expect(types(as)).toEqual(['advance', 'ensureBaselines', 'joinBatch']);
  });

  it('sends a winner to the next batch while a batch is composed on the head', () => {
    const as = afterMerge(s, { status: 'batch-running' });
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'reverify', fields: { originalBase: BASE } });
    expect(types(as)).toContain('joinBatch');
    expect(types(as)).not.toContain('end');
  });
});

describe('independence is counted in principals, not worker IDs', () => {
  /** A run by worker `workerId` of the token named `token`. */
  const by = (id: string, stage: 'screen' | 'confirm', valBpb: number, workerId: string, token: string) => ({
    ...run(id, stage, valBpb, workerId),
    principal: { id: `tok-${token}`, name: token },
  });

  it('does not merge a gain whose screen and confirmation come from two worker IDs of one token', () => {
    const as = nextStep(
      state({
        finished: finished('e2', { stage: 'confirm' }),
        runs: [by('e1', 'screen', 0.99, 'w1', 'vol-1'), by('e2', 'confirm', 0.9905, 'w2', 'vol-1')],
      }),
      cfg,
    );
    expect(types(as)).not.toContain('merge');
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'confirming' });
    expect((ending(as) as { reason: string }).reason).toContain(
      "waiting for a second principal on cpu: only token 'vol-1' has run it",
    );
    // Another confirmation is queued, kept off every worker of the screener's token.
    expect(as).toContainEqual(
      expect.objectContaining({ type: 'queueRun', stage: 'confirm', excludeWorkerId: 'w1' }),
    );
  });

  it('earns no trust when a principal agrees with itself', () => {
    const as = nextStep(
      state({ runs: [by('e1', 'screen', 0.99, 'w1', 'vol-1'), by('e2', 'confirm', 0.9905, 'w2', 'vol-1')] }),
      cfg,
    );
    expect(types(as)).not.toContain('bumpTrust');
  });

  it('merges once a second principal confirms', () => {
    const as = nextStep(
      state({
        runs: [
          by('e1', 'screen', 0.99, 'w1', 'vol-1'),
          by('e2', 'confirm', 0.9905, 'w2', 'vol-1'),
          by('e3', 'confirm', 0.9902, 'w3', 'vol-2'),
        ],
      }),
      cfg,
    );
    expect(types(as)).toContain('merge');
    expect(as).toContainEqual({ type: 'bumpTrust', workerIds: ['w1', 'w3'] });
  });

  it('lets a trusted principal confirm its own screen', () => {
    const as = nextStep(
      state({
        screenerTrusted: true,
        runs: [by('e1', 'screen', 0.99, 'lab', 'lab'), by('e2', 'confirm', 0.9905, 'lab', 'lab')],
      }),
      cfg,
    );
    expect(types(as)).toContain('merge');
  });

  it('does not count a run of an unknown principal as independent', () => {
    const as = nextStep(
      state({
        runs: [
          by('e1', 'screen', 0.99, 'w1', 'vol-1'),
          { ...run('e2', 'confirm', 0.9905, 'gone'), principal: null },
        ],
      }),
      cfg,
    );
    expect(types(as)).not.toContain('merge');
  });
});

describe("an untrusted screen chooses what to confirm; other principals' runs carry the gain", () => {
  const by = (id: string, stage: 'screen' | 'confirm', valBpb: number, token: string) => ({
    ...run(id, stage, valBpb, `w-${token}`),
    principal: { id: `tok-${token}`, name: token },
  });
  // A young noise estimate (ν = 3) widens the bound of agreement to 9σ: a screen 0.03 better
  // than the honest confirmation does not contradict it, and pooled with it passes the rule.
  const young = { sigma: 0.0032, df: 3, samples: 7 };
  // At α 0.01 (`RATCHET_ALPHA`), where the pooled rule alone would let such a screen through;
  // the default α 0.002 asks more of the pooled runs as well.
  const cfg: LifecycleConfig = {
    acceptance: { ...DEFAULT_ACCEPTANCE, alpha: 0.01 },
    seed: 42,
    maxThrottleRequeues: 3,
  };
  const baseAt1 = [1.0, 1.0, 1.0].map((v, i) => ({ ...baselines[0]!, valBpb: v, experimentId: `b${i}` }));

  it("does not merge a liar's screen that an honest confirmation does not bear out", () => {
    const s = state({
      noise: young,
      baselines: baseAt1,
      finished: finished('e2', { stage: 'confirm' }),
      runs: [by('e1', 'screen', 0.97, 'liar'), by('e2', 'confirm', 0.999, 'honest')],
    });
    const as = nextStep(s, cfg);
    expect(types(as)).not.toContain('merge');
    expect(ending(as)).toMatchObject({ type: 'advance', status: 'confirming' });
    expect((ending(as) as { reason: string }).reason).toContain('the gain rests on the screen');
    expect(as).toContainEqual(
      expect.objectContaining({ type: 'queueRun', stage: 'confirm', excludeWorkerId: 'w-liar' }),
    );
    // At the most replicates it is discarded, every run with it, even where the pooled rule
    // accepts: 30 baselines, an old noise estimate, a screen 5.6σ better (within the bound of
    // agreement) and three confirmations at the baseline pool to t −2.6 < −2.36.
    const many = Array.from({ length: 30 }, (_, i) => ({
      ...baselines[0]!,
      valBpb: 1.0,
      experimentId: `m${i}`,
    }));
    const full = nextStep(
      {
        ...s,
        noise: { sigma: 0.001, df: 100, samples: 130 },
        baselines: many,
        runs: [
          by('e1', 'screen', 0.9944, 'liar'),
          by('e2', 'confirm', 1.0, 'honest'),
          by('e3', 'confirm', 1.0, 'third'),
          by('e4', 'confirm', 1.0, 'honest'),
        ],
      },
      cfg,
    );
    expect(ending(full)).toMatchObject({ type: 'end', status: 'discarded' });
    expect(full.filter((a) => a.type === 'setVerdict').map((a) => 'verdict' in a && a.verdict)).toEqual([
      'discard',
      'discard',
      'discard',
      'discard',
    ]);
  });

  it('merges a real gain that the other principal measured too', () => {
    const as = nextStep(
      state({
        noise: young,
        baselines: baseAt1,
        runs: [by('e1', 'screen', 0.97, 'vol-1'), by('e2', 'confirm', 0.975, 'vol-2')],
      }),
      cfg,
    );
    expect(types(as)).toContain('merge');
  });
});
