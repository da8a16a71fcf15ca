/**
 * What `ratchet up` is waiting for, in words: a line after each finished experiment that
 * says what the acceptance pipeline does next (measure the noise, confirm a candidate, merge).
 * Pure.
 */
import type { DecisionRecord, Experiment, Proposal } from '@ratchet/shared';

export interface NoiseState {
  /** Baseline runs of this commit on this class so far. */
  have: number;
  /** The class's pooled noise: σ and its degrees of freedom. */
  sigma: number;
  df: number;
}

export interface ExplainConfig {
  minBaselineSamples: number;
  minNoiseDf: number;
  maxReplicates: number;
}

/** After a baseline: how far the noise measurement is (the target mirrors the coordinator's). */
export function explainBaseline(s: NoiseState, cfg: ExplainConfig): string {
  if (s.df < cfg.minNoiseDf) {
    const target = Math.max(cfg.minBaselineSamples, s.have + cfg.minNoiseDf - s.df);
    return `measuring noise: baseline ${s.have} of ${target}`;
  }
  return `noise: σ ${s.sigma.toFixed(4)} over ${s.df} degrees of freedom; a gain must beat it to merge`;
}

const gain = (d: DecisionRecord) => (d.delta === null ? '?' : (-d.delta).toFixed(3));

/** After a candidate run: what its numbers mean and what happens next. Null when nothing to say. */
export function explainCandidate(e: Experiment, p: Proposal | null, cfg: ExplainConfig): string | null {
  const d = p?.decision;
  if (!p || !d || e.status !== 'ok') return null;
  if (p.status === 'confirming' && d.verdict === 'replicate')
    return `candidate looks ${gain(d)} better; confirming (run ${d.n + 1} of up to ${cfg.maxReplicates})`;
  if (p.status === 'merged')
    return `merged: ${gain(d)} better over ${d.n} run(s)${d.t !== null && d.tCrit !== null ? `, t ${d.t.toFixed(1)} < −${d.tCrit.toFixed(1)}` : ''}`;
  if (p.status === 'discarded' && d.delta !== null) {
    const needs =
      d.n <= 1 && d.margin !== null
        ? `a screen must be ${d.margin.toFixed(3)} better`
        : `the mean of ${d.n} runs must beat the noise (t < −${d.tCrit?.toFixed(1) ?? '?'})`;
    return d.delta < 0
      ? `discarded: ${gain(d)} better is within the noise (${needs})`
      : `discarded: ${d.delta.toFixed(3)} worse`;
  }
  if (p.status === 'awaiting_baseline') return 'candidate waits for the baseline runs of its commit';
  return null;
}
