/**
 * Statistics of the acceptance pipeline. Pure.
 *
 * Noise: baseline runs of the same commit on the same (track, class) with different seeds
 * give a pooled standard deviation across commits: σ² = Σ_g Σ_i (x_gi − x̄_g)² / Σ_g (n_g − 1),
 * with ν = Σ_g (n_g − 1) degrees of freedom, over the samples that are not outliers (a
 * leave-one-out studentized residual test; see `pooled-noise.ts`).
 *
 * The rule (one-sided Welch-style t with the pooled class σ): with n candidate samples of mean
 * c̄ and m baseline samples of mean b̄ on the same (track, base, class),
 *   t = (c̄ − b̄) / (σ_eff · √(1/n + 1/m)),  σ_eff = max(σ, sigmaFloor).
 * accept when t < −t(1−α, ν) AND b̄ − c̄ > marginFloor.
 */
export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

import type { PooledNoise } from './pooled-noise.ts';
import { normalQuantile, tQuantile } from './t-dist.ts';

export { OUTLIER_ALPHA, type PooledNoise, pooledNoise } from './pooled-noise.ts';
export { normalQuantile, tQuantile, tUpperTail } from './t-dist.ts';

export interface AcceptanceConfig {
  /** Screen passes when the single-run delta < −max(k·σ, marginFloor). */
  screenK: number;
  /** Smallest improvement worth merging, in val_bpb. */
  marginFloor: number;
  /** Lower bound on σ, so that deterministic runs do not divide by zero. */
  sigmaFloor: number;
  /** One-sided false-accept rate of the final test. */
  alpha: number;
  /**
   * One-sided false-accept rate of a re-verification: the runs on a moved head of a patch
   * confirmed at α on an earlier base. It checks that the gain survived the head's changes,
   * and does not prove it again from scratch: a null patch merges only after a false
   * confirmation (≤ α) and a false re-verification (≤ reverifyAlpha).
   */
  reverifyAlpha: number;
  /** Candidate runs at most (screen + confirmations). */
  maxReplicates: number;
  /** Baseline runs per (commit, class) while the class's noise estimate is young. */
  minBaselineSamples: number;
  /** Degrees of freedom under which the noise estimate counts as young. */
  minNoiseDf: number;
  /** Screen vs confirmation differing by more than this many σ·√2 marks the screen invalid. */
  contradictK: number;
  /**
   * One-sided false-accept rate of the runs of other principals alone, when the screen's
   * principal is untrusted: its screen may choose what to confirm, never carry the gain.
   */
  corroborateAlpha: number;
  /** A result whose steps fall below this fraction of the class's baseline is throttled. */
  throttleFraction: number;
  /** Consecutive validated results after which a worker is trusted on a class. */
  trustThreshold: number;
  /** An improvement beyond max(implausibleSigmas·σ, implausibleFactor·best gain seen) is quarantined. */
  implausibleSigmas: number;
  implausibleFactor: number;
  /** …and beyond this fraction of the baseline (one patch rarely gains 10%). */
  implausibleFraction: number;
}

export const DEFAULT_ACCEPTANCE: AcceptanceConfig = {
  screenK: 2,
  marginFloor: 0.0005,
  sigmaFloor: 1e-4,
  alpha: 0.002,
  reverifyAlpha: 0.05,
  maxReplicates: 4,
  minBaselineSamples: 3,
  minNoiseDf: 4,
  contradictK: 4,
  corroborateAlpha: 0.05,
  throttleFraction: 0.5,
  trustThreshold: 10,
  implausibleSigmas: 30,
  implausibleFactor: 5,
  implausibleFraction: 0.1,
};

export interface Evidence {
  candidate: readonly number[];
  baseline: readonly number[];
  noise: PooledNoise;
  /**
   * The patch was already confirmed on an earlier base and rebased onto a moved head: one
   * run on the new head that passes the t rule on its own re-verifies it.
   */
  confirmedBefore?: boolean;
  /**
   * Wait for more baselines rather than reject a clear gain that only a young noise estimate
   * (ν < minNoiseDf: t(0.998, 1) is 159) keeps from being accepted. A proposal can wait; a
   * batch run cannot, and is not asked to.
   */
  waitForNoise?: boolean;
}

export interface Decision {
  verdict: 'accept' | 'reject' | 'replicate' | 'wait';
  reason: string;
  n: number;
  m: number;
  candidateMean: number | null;
  baselineMean: number | null;
  delta: number | null;
  sigma: number | null;
  df: number;
  t: number | null;
  tCrit: number | null;
  margin: number | null;
}

const f6 = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(6);

export function screenMargin(noise: PooledNoise, cfg: AcceptanceConfig): number {
  return Math.max(cfg.screenK * Math.max(noise.sigma, cfg.sigmaFloor), cfg.marginFloor);
}

/** One decision over all samples so far: wait for noise, stop clear losers, confirm, accept. */
export function decide(ev: Evidence, cfg: AcceptanceConfig): Decision {
  const n = ev.candidate.length;
  const m = ev.baseline.length;
  const empty = {
    n,
    m,
    candidateMean: null,
    baselineMean: null,
    delta: null,
    t: null,
    tCrit: null,
    margin: null,
  };
  if (m === 0 || ev.noise.df < 1 || n === 0) {
    return {
      ...empty,
      verdict: 'wait',
      reason: 'waiting for baseline runs to measure the noise',
      sigma: null,
      df: ev.noise.df,
    };
  }
  const c = mean(ev.candidate);
  const b = mean(ev.baseline);
  const delta = c - b;
  const sigma = Math.max(ev.noise.sigma, cfg.sigmaFloor);
  const t = delta / (sigma * Math.sqrt(1 / n + 1 / m));
  const alpha = ev.confirmedBefore ? cfg.reverifyAlpha : cfg.alpha;
  const tCrit = tQuantile(1 - alpha, ev.noise.df);
  const margin = screenMargin(ev.noise, cfg);
  const base = { n, m, candidateMean: c, baselineMean: b, delta, sigma, df: ev.noise.df, t, tCrit, margin };
  const nums = `Δ ${f6(delta)} over ${n} run(s) vs ${m} baseline run(s), σ ${sigma.toFixed(6)} (ν=${ev.noise.df}), t ${t.toFixed(2)}`;
  if (n === 1 && ev.confirmedBefore && t < -tCrit && -delta > cfg.marginFloor) {
    return {
      ...base,
      verdict: 'accept',
      reason: `re-verified on the new head: ${nums} < −${tCrit.toFixed(2)} (α=${alpha}), confirmed before on an earlier base`,
    };
  }
  if (n === 1) {
    if (delta < -margin)
      return {
        ...base,
        verdict: 'replicate',
        reason: `promising screen: ${nums} beats −${margin.toFixed(6)}; confirming`,
      };
    return {
      ...base,
      verdict: 'reject',
      reason: `screen: ${nums} does not beat the noise margin −${margin.toFixed(6)}`,
    };
  }
  if (t < -tCrit && -delta > cfg.marginFloor) {
    return {
      ...base,
      verdict: 'accept',
      reason: `${ev.confirmedBefore ? 're-verified' : 'confirmed'}: ${nums} < −${tCrit.toFixed(2)} (α=${alpha}) and gain > ${cfg.marginFloor}`,
    };
  }
  // Sequential testing: keep replicating only while the evidence still points to a gain.
  if (n < cfg.maxReplicates && delta < -cfg.marginFloor && t < -1) {
    return {
      ...base,
      verdict: 'replicate',
      reason: `near the threshold: ${nums} vs −${tCrit.toFixed(2)}; one more replicate`,
    };
  }
  if (ev.waitForNoise && ev.noise.df < cfg.minNoiseDf && delta < -cfg.marginFloor && t < -1) {
    return {
      ...base,
      verdict: 'wait',
      reason: `near the threshold with a young noise estimate: ${nums} vs −${tCrit.toFixed(2)}; waiting for baselines until ν ≥ ${cfg.minNoiseDf}`,
    };
  }
  return {
    ...base,
    verdict: 'reject',
    reason: `not confirmed: ${nums}, needs < −${tCrit.toFixed(2)} and gain > ${cfg.marginFloor}`,
  };
}

/** The most a young noise estimate widens the bound of agreement (t(0.975, 2)/z is 2.2). */
const MAX_WIDEN = 2.5;

/**
 * How far apart two single runs may be and still agree: contradictK·σ·√2, widened while the
 * noise estimate is young by t(0.975, ν)/z(0.975), at most 2.5× — at ν = 2 a σ estimate is
 * often half the truth, and honest runs would "disagree" one time in ten; at ν = 1 the
 * t ratio (6.5) would let a baseline forged 0.02 (33σ) off agree. ν unknown (< 1): as if
 * large.
 */
export function agreementBound(sigma: number, df: number, cfg: AcceptanceConfig): number {
  const s = Math.max(Number.isFinite(sigma) ? sigma : 0, cfg.sigmaFloor);
  const widen =
    df >= 1 && Number.isFinite(df) ? Math.min(MAX_WIDEN, tQuantile(0.975, df) / normalQuantile(0.975)) : 1;
  return cfg.contradictK * s * Math.SQRT2 * widen;
}

/** A confirmation that disagrees with its screen beyond the noise: the screen was not honest or not sound. */
export function contradicts(
  screen: number,
  confirmations: readonly number[],
  noise: PooledNoise,
  cfg: AcceptanceConfig,
): boolean {
  if (confirmations.length === 0) return false;
  return Math.abs(screen - mean(confirmations)) > agreementBound(noise.sigma, noise.df, cfg);
}

/**
 * Whether runs of other principals than an untrusted screener's show the gain on their own:
 * their mean beats the baselines by more than the margin floor, with one-sided t below
 * −t(1−corroborateAlpha, ν). Pooled with a liar's screen, an honest null confirmation
 * passes the rule (a screen 0.03 better and a confirmation at the baseline average to a
 * 0.015 gain) whenever a young noise estimate widens the bound of agreement past the lie.
 */
export function corroborated(
  others: readonly number[],
  baseline: readonly number[],
  noise: PooledNoise,
  cfg: AcceptanceConfig,
): { ok: boolean; delta: number; t: number; tCrit: number } {
  const sigma = Math.max(Number.isFinite(noise.sigma) ? noise.sigma : 0, cfg.sigmaFloor);
  const delta = others.length > 0 && baseline.length > 0 ? mean(others) - mean(baseline) : Number.NaN;
  const t = delta / (sigma * Math.sqrt(1 / others.length + 1 / baseline.length));
  const tCrit = tQuantile(1 - cfg.corroborateAlpha, Math.max(noise.df, 1));
  return { ok: Number.isFinite(t) && t < -tCrit && -delta > cfg.marginFloor, delta, t, tCrit };
}

export interface Throughput {
  steps: number | null;
  tokensM: number | null;
  /** Parameters in millions (`num_params_M`): tokens × parameters ≈ the compute a run got. */
  paramsM?: number | null;
  /**
   * `compute` when the run's budget is a fixed amount of training compute, `cpu` when it is
   * its own CPU time (`budget_clock` in its summary): load cannot shorten either.
   */
  budgetClock?: string | null;
}

/** Compute a run got in its budget: ≈ 6·N·T FLOPs, up to the constant. Null when unknown. */
function work(t: Throughput): number | null {
  return t.tokensM !== null && t.tokensM > 0 && t.paramsM != null && t.paramsM > 0
    ? t.tokensM * t.paramsM
    : null;
}

/**
 * A run that trained far less than its class's baselines in the same budget: the machine was
 * busy (folding mode), so its number is not comparable. Judged by measured throughput, not
 * by steps: a patch that grows the model trains fewer tokens on an idle machine too.
 * - A run budgeted by compute or by its own CPU time is never throttled: load stretches it, it
 *   trains as much.
 * - Compute (tokens × parameters) when the run and any baseline report both: a twice larger
 *   model at half the tokens is the same throughput. (A merge's own runs become the new
 *   head's baselines without a parameter count; they ran the same code.)
 * - Tokens when every run reports them (a patch that doubles the batch halves the steps, not
 *   the tokens), steps otherwise.
 */
export function isThrottled(
  run: Throughput,
  baselines: readonly Throughput[],
  cfg: AcceptanceConfig,
): boolean {
  if (run.budgetClock === 'cpu' || run.budgetClock === 'compute') return false;
  const done = work(run);
  const works = baselines.map(work).filter((x): x is number => x !== null);
  if (done !== null && works.length > 0) return done < cfg.throttleFraction * mean(works);
  const tokens = baselines.map((b) => b.tokensM).filter((x): x is number => x !== null && x > 0);
  if (run.tokensM !== null && run.tokensM > 0 && tokens.length > 0 && tokens.length === baselines.length)
    return run.tokensM < cfg.throttleFraction * mean(tokens);
  const steps = baselines.map((b) => b.steps).filter((x): x is number => x !== null);
  if (run.steps === null || steps.length === 0) return false;
  return run.steps < cfg.throttleFraction * mean(steps);
}

/** The throughput figures of a finished run, from its parsed summary. */
export function throughputOf(e: {
  metrics: { num_steps: number | null; total_tokens_M: number | null; num_params_M: number | null } | null;
  extra: Record<string, string>;
}): Throughput {
  return {
    steps: e.metrics?.num_steps ?? null,
    tokensM: e.metrics?.total_tokens_M ?? null,
    paramsM: e.metrics?.num_params_M ?? null,
    budgetClock: e.extra.budget_clock ?? null,
  };
}

/** Numbers no honest run produces: outside a sanity band, or a gain far beyond any seen. */
export function implausible(
  value: number,
  baselineMean: number,
  noise: PooledNoise,
  bestGainSeen: number,
  cfg: AcceptanceConfig,
): string | null {
  if (!Number.isFinite(value) || value <= 0) return 'not a finite positive number';
  if (value < 0.5 * baselineMean || value > 2 * baselineMean)
    return `outside the sanity band around ${baselineMean.toFixed(6)}`;
  const sigma = Math.max(Number.isFinite(noise.sigma) ? noise.sigma : 0, cfg.sigmaFloor);
  const limit = Math.max(
    cfg.implausibleSigmas * sigma,
    cfg.implausibleFactor * bestGainSeen,
    cfg.implausibleFraction * baselineMean,
  );
  const gain = baselineMean - value;
  if (noise.df >= 1 && gain > limit)
    return `gain ${gain.toFixed(6)} is far beyond any seen on this class (limit ${limit.toFixed(6)})`;
  return null;
}
