/**
 * The proposal lifecycle as one pure transition function: given what is known about a
 * proposal (its status, its runs, the baselines and noise of its class, the config) and what
 * just happened, it returns the actions to take. It reads nothing and writes nothing; the
 * service layer (`results/lifecycle-driver.ts`) gathers the inputs and carries out the
 * actions. This file is where every verdict and every merge of a proposal is decided.
 *
 *   queued → running → (crashed | patch_failed | discarded | quarantined | awaiting_baseline
 *                       | confirming | merge)
 *   confirming → running → … the same, on all samples
 *   confirming → (confirmation contradicts the screen) → confirming, a third principal's
 *                arbitration queued → the side it agrees with stands, the other is invalid
 *                and loses its trust; judged on the runs that stand (`arbitration.ts`)
 *   merge → merged | conflict | stale | reverify (rebased onto the moved head; joins a batch)
 *   reverify → (batch run) → merged | reverify alone | conflict | stale
 *
 * A re-verification batch is decided by the same rule on its union's runs, in
 * `batch-lifecycle.ts` (`judgeBatch`, `afterBatchMerge`, `afterCompose`); the merge train
 * (`merge/merge-train.ts`) only carries a decided merge out, serially per track.
 */
import {
  type BaselineSample,
  type DecisionRecord,
  OPEN_PROPOSAL_STATUSES,
  type ProposalStatus,
  type Verdict,
} from '@ratchet/shared';
import { arbitrate } from './arbitration.ts';
import { candidateSeed } from './seeds.ts';
import {
  type AcceptanceConfig,
  corroborated,
  type Decision,
  decide,
  implausible,
  isThrottled,
  mean,
  type PooledNoise,
  type Throughput,
} from './stats.ts';

/** A finished, counted candidate run (ok, on the proposal's current base and this class). */
export interface RunView {
  id: string;
  stage: RunStage;
  valBpb: number;
  workerId: string | null;
  /**
   * Who stands behind its worker (the token that registered it; `auth/principals.ts`):
   * runs of one principal never confirm each other. Null: unknown.
   */
  principal: { id: string; name: string } | null;
  steps: number | null;
  tokensM: number | null;
  peakVramMb: number | null;
}

/** A candidate run: the first, a replicate, or a third principal's run settling a dispute. */
export type RunStage = 'screen' | 'confirm' | 'arbitrate';

/** The run that has just finished, whatever its outcome. */
export interface FinishedRun {
  id: string;
  status: 'ok' | 'crash' | 'patch_failed';
  stage: RunStage;
  seed: number;
  excludeWorkerId: string | null;
  excludePrincipals?: string[];
  crash: { reason: string; message: string } | null;
  throughput: Throughput;
}

/** Proposal fields a transition may set besides its status. */
export interface ProposalFields {
  decision?: DecisionRecord;
  conflict?: string;
  base?: string;
  patch?: string;
  patchHash?: string;
  originalBase?: string;
  rebases?: number;
  mergedCommit?: string;
  throttleRequeues?: number;
}

export type Action =
  /** An experiment's verdict (with its delta against the baseline mean when scored). */
  | {
      type: 'setVerdict';
      experimentId: string;
      verdict: Verdict;
      reason: string;
      scored?: { baselineBpb: number | null; delta: number | null };
    }
  /** A proposal moves on to a status it may still leave. */
  | { type: 'advance'; status: ProposalStatus; reason?: string; fields?: ProposalFields }
  /** A proposal's final status. */
  | { type: 'end'; status: ProposalStatus; reason: string; fields?: ProposalFields }
  /** One more candidate run: a confirmation or a re-run, pinned to the class when `pinned`. */
  | {
      type: 'queueRun';
      stage: RunStage;
      pinned: boolean;
      seed: number;
      excludeWorkerId: string | null;
      /** Principals that must not run it (an arbitration's parties). */
      excludePrincipals?: string[];
    }
  /** An implausible number: never merged, and its worker's trust is reset. */
  | { type: 'quarantine'; experimentId: string; workerId: string | null; reason: string }
  /** Screen and confirmation agreed: both workers earn trust. */
  | { type: 'bumpTrust'; workerIds: string[] }
  /** A run found wrong (by arbitration) costs its worker its trust. */
  | { type: 'resetTrust'; workerId: string }
  /** Park until baselines of the proposal's base on its class arrive. */
  | { type: 'awaitBaseline' }
  /** Hand the winner to the merge train; its answer goes to `afterMerge`. */
  | { type: 'merge'; decision: DecisionRecord; runs: RunView[] }
  /** Join the class's open re-verification batch. */
  | { type: 'joinBatch' }
  /** Make sure baselines of `commit` on the class are measured. */
  | { type: 'ensureBaselines'; commit: string };

export interface LifecycleConfig {
  acceptance: AcceptanceConfig;
  /** The configured seed; each proposal's runs draw theirs from it (`seeds.ts`). */
  seed: number;
  /** A proposal's throttled runs are queued again at most this often. */
  maxThrottleRequeues: number;
}

/** Everything the rule looks at for one proposal on one class. */
export interface CandidateState {
  proposal: {
    id: string;
    status: ProposalStatus;
    base: string;
    originalBase: string | null;
    decision: DecisionRecord | null;
    throttleRequeues: number;
    /** Candidate runs queued so far, whatever became of them: each new run's seed index. */
    runsQueued?: number;
  };
  cls: string;
  /** The run that just finished, or null when re-evaluated (e.g. a baseline arrived). */
  finished: FinishedRun | null;
  /** Counted runs, screens first, then in the order they were recorded. */
  runs: RunView[];
  baselines: BaselineSample[];
  noise: PooledNoise;
  bestGain: number;
  /** The screen's token is trusted (a lab's own machines): it may confirm itself. */
  screenerTrusted: boolean;
  /** Every allowed baseline run of the base on the class crashed. */
  baselineExhausted: boolean;
  /** Baselines of the base on the class reported but not verified yet (`baseline-trust.ts`). */
  unverifiedBaselines?: number;
  /**
   * Principals whose runs of this proposal were found wrong (`invalid`): none of its later
   * runs is theirs. Their runs no longer count, so without this nothing kept a liar whose
   * screen was set aside off the confirmation that followed, and its lie then carried the gain.
   */
  blamed?: string[];
}

function record(d: Decision, cls: string, candidate: number[], baselines: number[]): DecisionRecord {
  return { ...d, hardwareClass: cls, candidateSamples: candidate, baselineSamples: baselines };
}

/** A run came back that cannot be compared: a crash, a patch that failed, or a busy machine. */
function onUncomparable(s: CandidateState, f: FinishedRun, cfg: LifecycleConfig): Action[] | null {
  if (f.status === 'crash' || f.status === 'patch_failed') {
    const reason =
      f.status === 'patch_failed'
        ? 'patch failed to apply on the worker'
        : `crashed (${f.crash?.reason}): ${f.crash?.message ?? ''}`;
    return [
      { type: 'setVerdict', experimentId: f.id, verdict: 'crash', reason },
      { type: 'end', status: f.status === 'crash' ? 'crashed' : 'patch_failed', reason },
    ];
  }
  if (!isThrottled(f.throughput, s.baselines, cfg.acceptance)) return null;
  const of = (xs: (number | null)[]) => mean(xs.filter((x): x is number => x !== null));
  const reason = `throttled: ${f.throughput.steps} steps, ${f.throughput.tokensM ?? 'n/a'} M tokens vs ${of(s.baselines.map((b) => b.steps)).toFixed(0)} steps, ${of(s.baselines.map((b) => b.tokensM)).toFixed(3)} M tokens on the baseline`;
  const verdict: Action = { type: 'setVerdict', experimentId: f.id, verdict: 'throttled', reason };
  if (s.proposal.throttleRequeues >= cfg.maxThrottleRequeues)
    return [verdict, { type: 'end', status: 'discarded', reason: `${reason}; too many throttled runs` }];
  return [
    verdict,
    {
      type: 'advance',
      status: s.proposal.status,
      fields: { throttleRequeues: s.proposal.throttleRequeues + 1 },
    },
    {
      type: 'queueRun',
      stage: f.stage,
      pinned: true,
      seed: f.seed,
      excludeWorkerId: f.excludeWorkerId,
      ...(f.excludePrincipals?.length ? { excludePrincipals: f.excludePrincipals } : {}),
    },
  ];
}

/**
 * The transition of one candidate proposal after a run of it finished (or its baselines
 * arrived): crash → crashed; throttled → run again; implausible → quarantined; screen
 * contradicted → arbitration (`arbitration.ts`); no baseline yet → awaiting_baseline; then
 * the t rule on the samples that stand: reject → discarded, replicate → confirming, accept →
 * merge.
 */
export function nextStep(s: CandidateState, cfg: LifecycleConfig): Action[] {
  if (!OPEN_PROPOSAL_STATUSES.includes(s.proposal.status)) return [];
  if (s.finished) {
    const early = onUncomparable(s, s.finished, cfg);
    if (early) return early;
  }
  const latest = s.runs[s.runs.length - 1];
  if (!latest) return [];
  const acc = cfg.acceptance;
  const baseValues = s.baselines.map((b) => b.valBpb);

  if (s.baselines.length > 0) {
    const why = implausible(latest.valBpb, mean(baseValues), s.noise, s.bestGain, acc);
    if (why)
      return [
        { type: 'quarantine', experimentId: latest.id, workerId: latest.workerId, reason: why },
        { type: 'end', status: 'quarantined', reason: `quarantined: ${why}` },
      ];
  }

  const arb = arbitrate(s, cfg);
  if (arb.kind === 'settled') return arb.actions;
  if (arb.kind === 'judged') {
    const wrong = s.runs.filter((r) => !arb.runs.includes(r));
    const blamed = [...(s.blamed ?? []), ...wrong.flatMap((r) => (r.principal ? [r.principal.id] : []))];
    const rest = nextStep({ ...s, finished: null, runs: arb.runs, blamed }, cfg).map(
      (a): Action =>
        a.type === 'end' || a.type === 'advance' ? { ...a, reason: `${arb.why}; ${a.reason ?? ''}` } : a,
    );
    return [...arb.actions, ...rest];
  }
  const screen = s.runs.find((r) => r.stage === 'screen');
  const confirms = s.runs.filter((r) => r.stage === 'confirm');
  const actions: Action[] = [];
  if (screen && confirms.length > 0) {
    // Trust is earned only when another principal agrees: a principal cannot vouch for itself.
    if (latest.stage === 'confirm' && independent(screen, [latest])) {
      const ids = [screen.workerId, latest.workerId].filter((x): x is string => x !== null);
      if (ids.length > 0) actions.push({ type: 'bumpTrust', workerIds: ids });
    }
  }

  const samples = s.runs.map((r) => r.valBpb);
  // A re-verification after a rebase: the earlier decision (on the old base) was an accept.
  const confirmedBefore = s.proposal.originalBase !== null && s.proposal.decision?.verdict === 'accept';
  const d = decide(
    {
      candidate: samples,
      baseline: baseValues,
      noise: s.noise,
      // One run re-verifies a rebased winner only when a trusted worker ran it: an untrusted
      // one is confirmed by another principal like any screen (a liar's lone re-verification
      // run, 0.02 better, merged a null patch).
      confirmedBefore: confirmedBefore && s.screenerTrusted,
      waitForNoise: true,
    },
    acc,
  );
  const decision = record(d, s.cls, samples, baseValues);
  const scored = { baselineBpb: d.baselineMean, delta: latest.valBpb - (d.baselineMean ?? Number.NaN) };

  if (d.verdict === 'wait') {
    const held = s.unverifiedBaselines ?? 0;
    if (held > 0 && d.m === 0) {
      const reason = `waiting for another principal to verify the baselines of ${s.proposal.base.slice(0, 7)} on ${s.cls}: ${held} baseline(s) from untrusted workers not yet confirmed by another worker`;
      return [
        ...actions,
        { type: 'setVerdict', experimentId: latest.id, verdict: 'pending', reason },
        { type: 'advance', status: 'awaiting_baseline', reason, fields: confirmedBefore ? {} : { decision } },
        { type: 'awaitBaseline' },
      ];
    }
    if (s.baselineExhausted) {
      const reason = `no baseline: every baseline run of ${s.proposal.base.slice(0, 7)} on ${s.cls} crashed`;
      return [
        ...actions,
        { type: 'setVerdict', experimentId: latest.id, verdict: 'discard', reason },
        { type: 'end', status: 'discarded', reason, fields: { decision } },
      ];
    }
    return [
      ...actions,
      { type: 'setVerdict', experimentId: latest.id, verdict: 'pending', reason: d.reason },
      // A rebased winner keeps the accept it earned on its old base while it waits: that is
      // what lets one run on the new head re-verify it.
      {
        type: 'advance',
        status: 'awaiting_baseline',
        reason: d.reason,
        fields: confirmedBefore ? {} : { decision },
      },
      { type: 'awaitBaseline' },
    ];
  }
  if (d.verdict === 'reject') {
    return [
      ...actions,
      { type: 'setVerdict', experimentId: latest.id, verdict: 'discard', reason: d.reason, scored },
      ...s.runs
        .filter((r) => r.id !== latest.id)
        .map(
          (r): Action => ({ type: 'setVerdict', experimentId: r.id, verdict: 'discard', reason: d.reason }),
        ),
      { type: 'end', status: 'discarded', reason: d.reason, fields: { decision } },
    ];
  }
  actions.push({
    type: 'setVerdict',
    experimentId: latest.id,
    verdict: 'promising',
    reason: d.reason,
    scored,
  });
  const confirm: Action = {
    type: 'queueRun',
    stage: 'confirm',
    pinned: true,
    // Never a seed an earlier run of the proposal had (the screen's included), even when runs
    // found invalid no longer count.
    seed: candidateSeed(cfg.seed, s.proposal.id, Math.max(s.runs.length, s.proposal.runsQueued ?? 0)),
    // An untrusted screener's principal must not confirm its own screen (leasing keeps every
    // worker of that principal off it).
    excludeWorkerId: s.screenerTrusted ? null : (screen?.workerId ?? null),
    ...(s.blamed?.length ? { excludePrincipals: [...new Set(s.blamed)] } : {}),
  };
  if (d.verdict === 'replicate') {
    return [
      ...actions,
      { type: 'advance', status: 'confirming', reason: d.reason, fields: { decision } },
      confirm,
    ];
  }
  // An accept on the numbers of one untrusted principal alone waits for a second principal
  // (a confirmation's or an arbiter's).
  const others = s.runs.filter((r) => r.stage !== 'screen');
  if (!confirmedBefore && !s.screenerTrusted && screen && !independent(screen, others)) {
    const reason = `${waitingForPrincipal(s.cls, screen)}; ${d.reason}`;
    return [...actions, { type: 'advance', status: 'confirming', reason, fields: { decision } }, confirm];
  }
  // The screen chose what to confirm; it cannot carry the gain. The runs after it (of other
  // principals, when the screener is untrusted) must bear the gain out on their own: pooled
  // with them, a liar's screen 0.03 better passed with an honest confirmation at the
  // baseline whenever a young noise estimate widened the bound of agreement past the lie.
  if (!confirmedBefore && screen) {
    const theirs = others.filter((r) => s.screenerTrusted || independent(screen, [r])).map((r) => r.valBpb);
    const c = corroborated(theirs, baseValues, s.noise, acc);
    if (!c.ok) {
      const who = s.screenerTrusted ? 'the runs after the screen' : 'the runs of other principals';
      const why = `the gain rests on the screen: ${who} alone (${theirs.length}) give Δ ${c.delta.toFixed(6)}, t ${c.t.toFixed(2)}, needs < −${c.tCrit.toFixed(2)} (α=${acc.corroborateAlpha})`;
      if (s.runs.length < acc.maxReplicates)
        return [
          ...actions,
          {
            type: 'advance',
            status: 'confirming',
            reason: `${why}; one more confirmation`,
            fields: { decision },
          },
          confirm,
        ];
      return [
        ...actions.map(
          (a): Action => (a.type === 'setVerdict' ? { ...a, verdict: 'discard', reason: why } : a),
        ),
        ...s.runs
          .filter((r) => r.id !== latest.id)
          .map((r): Action => ({ type: 'setVerdict', experimentId: r.id, verdict: 'discard', reason: why })),
        { type: 'end', status: 'discarded', reason: why, fields: { decision } },
      ];
    }
  }
  return [...actions, { type: 'merge', decision, runs: s.runs }];
}

/** Whether a run of another principal than the screen's is among `confirms`. */
function independent(screen: RunView, confirms: readonly RunView[]): boolean {
  const own = screen.principal?.id;
  return confirms.some((c) => own !== undefined && c.principal !== null && c.principal.id !== own);
}

/** A proposal's words while its gain waits for a second principal. */
export function waitingForPrincipal(cls: string, screen: Pick<RunView, 'principal' | 'workerId'>): string {
  const who = screen.principal ? `token '${screen.principal.name}'` : `worker ${screen.workerId ?? '?'}`;
  return `waiting for a second principal on ${cls}: only ${who} has run it`;
}

/** What the merge train did with a winner (`merge/merge-train.ts`). */
export type MergeOutcome =
  | { status: 'merged'; commit: string }
  | { status: 'reverify'; head: string; patch: string }
  | { status: 'conflict'; head: string; hunk: string }
  | { status: 'stale'; head: string; reason: string }
  /** A batch holds the track's run slot: merging now would move the head under it. */
  | { status: 'batch-running' };

export interface MergedState {
  proposal: { base: string; originalBase: string | null; rebases: number };
  decision: DecisionRecord;
  runs: RunView[];
}

/** The transition after the merge train's answer. */
export function afterMerge(s: MergedState, m: MergeOutcome): Action[] {
  const { decision, runs } = s;
  const reason = decision.reason;
  const latest = runs[runs.length - 1];
  const onLatest = (verdict: Verdict, why: string): Action[] =>
    latest ? [{ type: 'setVerdict', experimentId: latest.id, verdict, reason: why }] : [];
  const originalBase = s.proposal.originalBase ?? s.proposal.base;
  switch (m.status) {
    case 'merged':
      return [
        ...runs.map((r): Action => ({ type: 'setVerdict', experimentId: r.id, verdict: 'keep', reason })),
        { type: 'end', status: 'merged', reason, fields: { mergedCommit: m.commit, decision } },
      ];
    case 'conflict': {
      const why = `rebase onto ${m.head.slice(0, 7)} conflicts`;
      return [
        ...onLatest('conflict', why),
        {
          type: 'end',
          status: 'conflict',
          reason: `${reason}; ${why}`,
          fields: { conflict: m.hunk, decision },
        },
      ];
    }
    case 'stale':
      return [
        ...onLatest('stale', m.reason),
        { type: 'end', status: 'stale', reason: m.reason, fields: { decision } },
      ];
    case 'reverify':
      return [
        {
          type: 'advance',
          status: 'reverify',
          reason: `${reason}; rebased onto ${m.head.slice(0, 7)}, re-verifying`,
          fields: { originalBase, base: m.head, patch: m.patch, rebases: s.proposal.rebases + 1, decision },
        },
        { type: 'ensureBaselines', commit: m.head },
        { type: 'joinBatch' },
      ];
    case 'batch-running':
      return [
        ...runs.map(
          (r): Action => ({ type: 'setVerdict', experimentId: r.id, verdict: 'promising', reason }),
        ),
        {
          type: 'advance',
          status: 'reverify',
          reason: `${reason}; joins the next re-verification batch (one is running)`,
          fields: { originalBase, decision },
        },
        { type: 'joinBatch' },
      ];
  }
}
