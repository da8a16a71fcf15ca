/**
 * Acceptance, first version: one candidate sample against the baseline of the same
 * (track, base commit, hardware class). Pure. A later pipeline (noise estimates,
 * replicates, sequential tests) replaces this module behind the same shape.
 */
export interface AcceptanceInput {
  candidateBpb: number;
  baselineBpb: number;
  /** The improvement (in val_bpb) a candidate must beat to be kept. */
  minMargin: number;
}

export interface AcceptanceDecision {
  verdict: 'keep' | 'discard';
  /** candidate − baseline: negative is better. */
  delta: number;
  reason: string;
}

export function decideAcceptance({
  candidateBpb,
  baselineBpb,
  minMargin,
}: AcceptanceInput): AcceptanceDecision {
  const delta = candidateBpb - baselineBpb;
  const fmt = (x: number) => x.toFixed(6);
  if (delta < -minMargin) {
    return {
      verdict: 'keep',
      delta,
      reason: `improves by ${fmt(-delta)} > margin ${fmt(minMargin)} (baseline ${fmt(baselineBpb)})`,
    };
  }
  return {
    verdict: 'discard',
    delta,
    reason:
      delta < 0
        ? `improves by ${fmt(-delta)}, within margin ${fmt(minMargin)} (baseline ${fmt(baselineBpb)})`
        : `no improvement: delta ${delta >= 0 ? '+' : ''}${fmt(delta)} (baseline ${fmt(baselineBpb)})`,
  };
}
