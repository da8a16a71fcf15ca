/**
 * When a screen and its confirmation disagree beyond the noise, one of them is wrong — a
 * broken machine or a liar — and which one cannot be told from two numbers. Blaming the
 * screen, as a first answer would, lets a liar who confirms kill every real gain and cost
 * the honest screener its trust. So the disagreement goes to a third worker, of a principal
 * not yet involved (preferably trusted: `lease/arbiter.ts` leases it; a trusted principal
 * that disagrees with itself may arbitrate itself): the side the arbiter agrees with stands,
 * the other side's runs are invalid and their workers lose their trust, and the proposal is
 * judged on the runs that stand. Pure.
 *
 *   confirming ─(confirmation contradicts screen)→ confirming, arbitration queued
 *     ─(arbiter agrees with the screen)→ confirmations invalid, judged on screen + arbiter
 *     ─(arbiter agrees with the confirmations)→ screen invalid, judged on them + arbiter
 *     ─(arbiter agrees with neither)→ discarded, nobody blamed; while ν is young, wait for
 *                                      baselines and judge again
 *   (dispute gone once the noise estimate grew; the arbiter disagrees with both)
 *     → the arbiter's run invalid, its worker loses its trust, judged on screen + confirmations
 */
import type { Action, CandidateState, LifecycleConfig, RunView } from './lifecycle.ts';
import { candidateSeed } from './seeds.ts';
import { contradicts, mean } from './stats.ts';

const f6 = (x: number) => x.toFixed(6);

/** Principals behind `runs`, for keeping an arbitration away from them. */
function principals(runs: readonly RunView[]): string[] {
  return [...new Set(runs.map((r) => r.principal?.id ?? null).filter((p): p is string => p !== null))];
}

function workers(runs: readonly RunView[]): string[] {
  return [...new Set(runs.map((r) => r.workerId).filter((w): w is string => w !== null))];
}

/** `wrong` runs are invalid and their workers lose their trust, `right` ones earn it; judged on the rest. */
function blame(
  s: CandidateState,
  wrong: readonly RunView[],
  right: readonly RunView[],
  why: string,
): Arbitration {
  const bump: Action[] = right.length > 0 ? [{ type: 'bumpTrust', workerIds: workers(right) }] : [];
  return {
    kind: 'judged',
    why,
    runs: s.runs.filter((r) => !wrong.includes(r)),
    actions: [
      ...wrong.map(
        (r): Action => ({ type: 'setVerdict', experimentId: r.id, verdict: 'invalid', reason: why }),
      ),
      ...workers(wrong).map((w): Action => ({ type: 'resetTrust', workerId: w })),
      ...bump,
    ],
  };
}

/**
 * Confirmations of more than one principal that a screen's dispute already settles: a
 * principal of its own that agrees with the screen, against others that do not (the screen
 * stands, the others were wrong), or two principals or more that agree with each other and
 * none with the screen (the screen was wrong). Without this the arbitration would exclude
 * every principal involved, and a pool of three could never run it.
 */
function splitConfirmations(
  s: CandidateState,
  screen: RunView,
  confirms: readonly RunView[],
  cfg: LifecycleConfig,
): Arbitration | null {
  const acc = cfg.acceptance;
  const against = confirms.filter((c) => contradicts(c.valBpb, [screen.valBpb], s.noise, acc));
  const agree = confirms.filter((c) => !against.includes(c));
  const blamed = new Set(principals([screen, ...against]));
  const seconds = principals(agree).filter((p) => !blamed.has(p));
  const at = (rs: readonly RunView[]) => rs.map((r) => f6(r.valBpb)).join(', ');
  if (against.length > 0 && seconds.length > 0) {
    const why = `screen ${f6(screen.valBpb)} and confirmation(s) ${at(agree)} of another principal agree; confirmation(s) ${at(against)} do not: they were wrong`;
    return blame(s, against, [screen, ...agree], why);
  }
  const own = screen.principal?.id;
  const others = principals(against).filter((p) => p !== own);
  const consistent = against.every(
    (c) =>
      !contradicts(
        c.valBpb,
        against.filter((o) => o !== c).map((o) => o.valBpb),
        s.noise,
        acc,
      ),
  );
  if (agree.length === 0 && others.length >= 2 && consistent) {
    const why = `confirmations ${at(against)} of ${others.length} principals agree with each other, not with the screen ${f6(screen.valBpb)}: the screen was wrong`;
    return blame(s, [screen], against, why);
  }
  return null;
}

export type Arbitration =
  /** Nothing to arbitrate: go on with the usual rule. */
  | { kind: 'none' }
  /** Actions that settle this step (an arbitration queued, awaited, or inconclusive). */
  | { kind: 'settled'; actions: Action[] }
  /** A side was found wrong: these actions, then the rule on the runs that stand. */
  | { kind: 'judged'; actions: Action[]; runs: RunView[]; why: string };

/** What to do about a screen contradicted by its confirmations, if it is. */
export function arbitrate(s: CandidateState, cfg: LifecycleConfig): Arbitration {
  const acc = cfg.acceptance;
  const screen = s.runs.find((r) => r.stage === 'screen');
  const confirms = s.runs.filter((r) => r.stage === 'confirm');
  const arbiter = s.runs.find((r) => r.stage === 'arbitrate');
  if (!screen || confirms.length === 0) return { kind: 'none' };
  const conf = confirms.map((c) => c.valBpb);
  if (!contradicts(screen.valBpb, conf, s.noise, acc)) {
    // No dispute (or no longer: a young noise estimate called one that a grown one does not):
    // an arbiter that disagrees with both runs it was to judge between is the odd one out.
    if (!arbiter || !contradicts(arbiter.valBpb, [screen.valBpb, ...conf], s.noise, acc))
      return { kind: 'none' };
    const why = `screen ${f6(screen.valBpb)} and confirmation ${f6(mean(conf))} agree within the noise; arbiter ${f6(arbiter.valBpb)} does not: the arbitration was wrong`;
    return blame(s, [arbiter], [], why);
  }
  const dispute = `screen ${f6(screen.valBpb)} and confirmation ${f6(mean(conf))} disagree beyond the noise`;
  const split = splitConfirmations(s, screen, confirms, cfg);
  if (split) return split;

  if (!arbiter) {
    const latest = s.runs[s.runs.length - 1]!;
    // Re-evaluated while the arbitration is queued (a baseline arrived): keep waiting.
    if (s.finished?.id !== latest.id) return { kind: 'settled', actions: [] };
    const involved = principals([screen, ...confirms]);
    // A trusted principal that disagrees with itself is not suspected of lying (it may
    // confirm its own screens too): its own workers may arbitrate. Kept away, a pool of one
    // trusted token had nobody to run the arbitration, and the proposal waited for ever.
    const self = screen.principal?.id;
    const own = s.screenerTrusted && !!self && confirms.every((c) => c.principal?.id === self);
    const reason = own
      ? `${dispute}; a third run arbitrates`
      : `${dispute}; waiting for a worker of a third principal on ${s.cls} to arbitrate`;
    return {
      kind: 'settled',
      actions: [
        { type: 'setVerdict', experimentId: latest.id, verdict: 'pending', reason },
        { type: 'advance', status: 'confirming', reason },
        {
          type: 'queueRun',
          stage: 'arbitrate',
          pinned: true,
          seed: candidateSeed(cfg.seed, s.proposal.id, Math.max(s.runs.length, s.proposal.runsQueued ?? 0)),
          excludeWorkerId: null,
          excludePrincipals: [...new Set([...(own ? [] : involved), ...(s.blamed ?? [])])],
        },
      ],
    };
  }

  const a = arbiter.valBpb;
  const agreesScreen = !contradicts(a, [screen.valBpb], s.noise, acc);
  const agreesConfirm = !contradicts(a, conf, s.noise, acc);
  const dS = Math.abs(a - screen.valBpb);
  const dC = Math.abs(a - mean(conf));
  const full = `${dispute}; arbiter ${f6(a)}`;
  if (agreesScreen && (!agreesConfirm || dS < dC)) {
    const why = `${full} agrees with the screen: the confirmation was wrong`;
    return blame(s, confirms, [screen, arbiter], why);
  }
  if (agreesConfirm) {
    const why = `${full} agrees with the confirmation: the screen was wrong`;
    return blame(s, [screen], [...confirms, arbiter], why);
  }
  if (s.noise.df < acc.minNoiseDf) {
    // At ν = 1 one close pair of baselines can put σ̂ at a tenth of the truth, and two honest
    // runs then "disagree": judged again on a grown estimate, the dispute may not stand, and
    // an arbiter far from both is then the one found wrong (above).
    const reason = `${full} agrees with neither while the noise estimate is young (ν=${s.noise.df}); waiting for baselines to judge it again`;
    return {
      kind: 'settled',
      actions: [
        { type: 'setVerdict', experimentId: arbiter.id, verdict: 'pending', reason },
        { type: 'advance', status: 'awaiting_baseline', reason },
        { type: 'awaitBaseline' },
      ],
    };
  }
  const reason = `${full} agrees with neither: no two runs agree, nobody is blamed`;
  return {
    kind: 'settled',
    actions: [
      ...s.runs.map((r): Action => ({ type: 'setVerdict', experimentId: r.id, verdict: 'discard', reason })),
      { type: 'end', status: 'discarded', reason },
    ],
  };
}
