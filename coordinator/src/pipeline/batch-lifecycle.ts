/**
 * The lifecycle of a re-verification batch, pure (see lifecycle.ts for a lone proposal):
 * what to do with its members when it is composed onto the head, when its run comes back,
 * and when the merge train answers. A batch runs the union of winners that were confirmed on
 * older bases; one run that passes the t rule on its own merges them all.
 */
import type { BaselineSample, BatchState, DecisionRecord } from '@ratchet/shared';
import type { Action } from './lifecycle.ts';
import { type AcceptanceConfig, decide, implausible, mean, type PooledNoise } from './stats.ts';

export type BatchAction =
  /** The verdict of the batch's run (an experiment). */
  | Extract<Action, { type: 'setVerdict' | 'quarantine' | 'ensureBaselines' }>
  /** An action on one member proposal, exactly as for a lone proposal. */
  | { type: 'forMember'; proposalId: string; action: Action }
  /** Each member still open is re-verified alone. */
  | { type: 'dissolve'; reason: string }
  /**
   * The same union on the same head runs again: near the threshold, or for another principal
   * than those in `excludePrincipals` when untrusted workers alone ran it.
   */
  | { type: 'replicate'; seed: number; excludePrincipals?: string[] }
  /** Merge every member in one commit; the merge train's answer goes to `afterBatchMerge`. */
  | { type: 'mergeBatch'; decision: DecisionRecord }
  /** A lone member: judged exactly as a re-verification of its own rebased patch. */
  | { type: 'judgeAlone'; proposalId: string }
  /** The members go round again in the next batch. */
  | { type: 'rejoin' }
  /** The batch's own state. */
  | { type: 'finish'; state: BatchState };

/** Who stands behind a batch's run: its principal (null: unknown), and whether its token is trusted. */
export interface RunBy {
  principal: string | null;
  trusted: boolean;
}

export interface BatchRunState {
  members: string[];
  base: string;
  cls: string;
  run: RunBy & {
    id: string;
    status: 'ok' | 'crash' | 'patch_failed';
    valBpb: number | null;
    workerId: string | null;
    crashMessage: string | null;
  };
  /** The earlier counted runs of the same union on the same head, in order. */
  earlier: (RunBy & { valBpb: number })[];
  baselines: BaselineSample[];
  noise: PooledNoise;
  bestGain: number;
  /** The seed of the batch's next run, if one is needed: a seed of its own (`seeds.ts`). */
  seed: number;
  /** Principals with a live worker on the class (who could run the union again). */
  livePrincipals?: string[];
}

/** The transition of a batch whose run came back. */
export function judgeBatch(s: BatchRunState, acc: AcceptanceConfig): BatchAction[] {
  const { run } = s;
  const failed = run.status !== 'ok' || run.valBpb === null;
  if (s.members.length === 1) {
    if (failed) {
      const why = `re-verification ${run.status}`;
      return [
        { type: 'setVerdict', experimentId: run.id, verdict: 'crash', reason: why },
        { type: 'dissolve', reason: why },
        { type: 'finish', state: 'dissolved' },
      ];
    }
    return [
      { type: 'judgeAlone', proposalId: s.members[0]! },
      { type: 'finish', state: 'judged' },
    ];
  }
  if (failed) {
    return [
      {
        type: 'setVerdict',
        experimentId: run.id,
        verdict: 'crash',
        reason: `batch re-verification ${run.status}: ${run.crashMessage ?? ''}`,
      },
      { type: 'dissolve', reason: `batch re-verification ${run.status}` },
      { type: 'finish', state: 'dissolved' },
    ];
  }
  const v = run.valBpb!;
  const baseValues = s.baselines.map((b) => b.valBpb);
  if (s.baselines.length > 0) {
    const why = implausible(v, mean(baseValues), s.noise, s.bestGain, acc);
    if (why)
      return [
        { type: 'quarantine', experimentId: run.id, workerId: run.workerId, reason: why },
        { type: 'dissolve', reason: `batch run quarantined (${why})` },
        { type: 'finish', state: 'dissolved' },
      ];
  }
  const runs = [...s.earlier, { ...run, valBpb: v }];
  const samples = runs.map((r) => r.valBpb);
  const d = decide({ candidate: samples, baseline: baseValues, noise: s.noise, confirmedBefore: true }, acc);
  const scored = { baselineBpb: d.baselineMean, delta: d.delta };
  if (d.verdict === 'accept' && !runs.some((r) => r.trusted)) {
    const held = untrustedAccept(s, runs, baseValues, acc);
    if (held) return held;
  }
  if (d.verdict === 'replicate')
    return [
      {
        type: 'setVerdict',
        experimentId: run.id,
        verdict: 'promising',
        reason: `the members together: ${d.reason}`,
        scored,
      },
      { type: 'replicate', seed: s.seed },
    ];
  if (d.verdict !== 'accept') {
    const reason = d.verdict === 'wait' ? 'no baseline on the head yet' : `the members together: ${d.reason}`;
    return [
      ...(d.verdict === 'wait' ? [{ type: 'ensureBaselines', commit: s.base } as const] : []),
      { type: 'setVerdict', experimentId: run.id, verdict: 'discard', reason, scored },
      { type: 'dissolve', reason },
      { type: 'finish', state: 'dissolved' },
    ];
  }
  return [
    {
      type: 'mergeBatch',
      decision: { ...d, hardwareClass: s.cls, candidateSamples: samples, baselineSamples: baseValues },
    },
  ];
}

/**
 * A batch that only untrusted workers ran: one principal's runs never merge it alone (a
 * liar's batch run, 0.03 better, merged a null patch that a lucky confirmation had let
 * through), the same rule as a lone re-verification's (`lifecycle.ts`). The union runs again
 * for another principal, whose runs alone must hold the gain: pooled with the lie they would
 * pass. Null when they do (the batch merges).
 */
function untrustedAccept(
  s: BatchRunState,
  runs: (RunBy & { valBpb: number })[],
  baseValues: number[],
  acc: AcceptanceConfig,
): BatchAction[] | null {
  const first = runs[0]!.principal;
  const others = runs.filter((r) => r.principal !== null && r.principal !== first);
  if (others.length === 0) {
    // Nobody else to run it: the members go back to one by one rather than hold the track's
    // run slot (and with it every merge of the track) until another principal joins.
    const nobody = !(s.livePrincipals ?? []).some((p) => p !== first);
    if (runs.length >= acc.maxReplicates || first === null || nobody) {
      const why = `the members together: only one untrusted principal has run them, and no other is live on ${s.cls}`;
      return [
        { type: 'setVerdict', experimentId: s.run.id, verdict: 'discard', reason: why },
        { type: 'dissolve', reason: why },
        { type: 'finish', state: 'dissolved' },
      ];
    }
    const why = `the members together: only one untrusted principal has run them; another runs them again`;
    return [
      { type: 'setVerdict', experimentId: s.run.id, verdict: 'promising', reason: why },
      { type: 'replicate', seed: s.seed, excludePrincipals: [first] },
    ];
  }
  const c = decide(
    { candidate: others.map((r) => r.valBpb), baseline: baseValues, noise: s.noise, confirmedBefore: true },
    acc,
  );
  if (c.verdict === 'accept') return null;
  const why = `the members together: the runs of other principals than the first alone do not hold the gain (${c.reason})`;
  return [
    { type: 'setVerdict', experimentId: s.run.id, verdict: 'discard', reason: why },
    { type: 'dissolve', reason: why },
    { type: 'finish', state: 'dissolved' },
  ];
}

export type BatchMergeOutcome = { status: 'merged'; commit: string } | { status: 'moved'; head: string };

/** The transition after the merge train's answer to a batch that held its gain. */
export function afterBatchMerge(
  s: { runId: string; base: string; members: string[]; decision: DecisionRecord },
  m: BatchMergeOutcome,
): BatchAction[] {
  const d = s.decision;
  const scored = { baselineBpb: d.baselineMean, delta: d.delta };
  if (m.status === 'moved')
    return [
      {
        type: 'setVerdict',
        experimentId: s.runId,
        verdict: 'stale',
        reason: `the head moved to ${m.head.slice(0, 7)} before the batch merged`,
        scored,
      },
      { type: 'rejoin' },
      { type: 'finish', state: 'dissolved' },
    ];
  const n = s.members.length;
  return [
    {
      type: 'setVerdict',
      experimentId: s.runId,
      verdict: 'keep',
      reason: `${d.reason}; ${n} winners merged together`,
      scored,
    },
    ...s.members.map(
      (id): BatchAction => ({
        type: 'forMember',
        proposalId: id,
        action: {
          type: 'end',
          status: 'merged',
          reason: `re-verified with ${n - 1} other winner(s) on ${s.base.slice(0, 7)}: ${d.reason}`,
          fields: { mergedCommit: m.commit },
        },
      }),
    ),
    { type: 'finish', state: 'merged' },
  ];
}

export type ComposeOutcome =
  | { status: 'included' }
  | { status: 'empty' }
  | { status: 'conflict'; hunk: string };

/** Members composed onto `head` at lease time: who runs, who ends `conflict` or `stale`. */
export function afterCompose(
  members: string[],
  outcomes: ComposeOutcome[],
  head: string,
): { included: string[]; actions: BatchAction[] } {
  const at = head.slice(0, 7);
  const included: string[] = [];
  const actions: BatchAction[] = [];
  for (const [i, id] of members.entries()) {
    const o = outcomes[i] ?? { status: 'empty' };
    if (o.status === 'included') included.push(id);
    else if (o.status === 'conflict')
      actions.push({
        type: 'forMember',
        proposalId: id,
        action: {
          type: 'end',
          status: 'conflict',
          reason: `re-verification: the patch conflicts with the head ${at} or with the winners merged with it`,
          fields: { conflict: o.hunk },
        },
      });
    else
      actions.push({
        type: 'forMember',
        proposalId: id,
        action: { type: 'end', status: 'stale', reason: `the head ${at} already holds this change` },
      });
  }
  if (included.length === 0) actions.push({ type: 'finish', state: 'dropped' });
  return { included, actions };
}
