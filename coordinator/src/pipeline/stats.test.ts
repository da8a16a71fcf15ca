import { describe, expect, it } from 'vitest';
import {
  agreementBound,
  DEFAULT_ACCEPTANCE as cfg,
  contradicts,
  decide,
  implausible,
  isThrottled,
  normalQuantile,
  pooledNoise,
  throughputOf,
  tQuantile,
} from './stats.ts';

describe('noise', () => {
  it('pools the variance of baseline groups across commits', () => {
    const n = pooledNoise([[1.0, 1.02], [2.0, 2.02, 1.98], [5]]);
    // SS = 0.0002 + 0.0008 = 0.001 over ν = 1 + 2 = 3
    expect(n.df).toBe(3);
    expect(n.sigma).toBeCloseTo(Math.sqrt(0.001 / 3), 12);
    expect(n.samples).toBe(6);
    expect(pooledNoise([[1], [2]]).df).toBe(0);
  });

  /** Honest baselines: five commits, values from a fixed normal sequence of σ ≈ 0.0006. */
  const z = [0.3, -1.1, 0.8, -0.2, 1.4, -0.7, 0.1, -1.6, 0.9, 0.5, -0.4, 1.2, -0.9, 0.0, 0.6];
  const honest = [0, 1, 2, 3, 4].map((g) =>
    z.slice(g * 3, g * 3 + 3).map((v) => 1.0 - g * 0.01 + 0.0006 * v),
  );

  it('barely moves when one baseline is 0.02 off: the forged sample leaves the pool', () => {
    const clean = pooledNoise(honest);
    const forged = honest.map((g, i) => (i === 0 ? [...g, g[0]! - 0.02] : g));
    const n = pooledNoise(forged);
    expect(n.outliers).toBe(1);
    expect(n.sigma / clean.sigma).toBeGreaterThan(0.8);
    expect(n.sigma / clean.sigma).toBeLessThan(1.25);
    expect(n.df).toBe(clean.df);
    expect(n.samples).toBe(16);
  });

  it('barely moves for a wild sample in a commit of two, or a lone commit of three or five', () => {
    const clean = pooledNoise(honest);
    const pair = pooledNoise([...honest, [0.95, 0.95 + 0.5]]);
    expect(pair.sigma / clean.sigma).toBeLessThan(1.25);
    expect(pair.outliers).toBe(2); // which of two is wild cannot be told: both leave
    const three = pooledNoise([[1.0003, 0.9996, 500]]);
    expect(three.sigma).toBeLessThan(0.001);
    expect(three.df).toBe(1);
    const first = pooledNoise([[1.0003, 0.9996, 1.0008, 0.9999, 0.98]]);
    expect(first.sigma).toBeLessThan(0.001);
    expect(first.df).toBe(3);
  });

  it('keeps every honest sample: the same σ as the classical pooled estimate', () => {
    const n = pooledNoise(honest);
    expect(n.outliers).toBe(0);
    expect(n.df).toBe(10);
    let ss = 0;
    for (const g of honest) {
      const m = g.reduce((a, b) => a + b, 0) / g.length;
      for (const x of g) ss += (x - m) ** 2;
    }
    expect(n.sigma).toBeCloseTo(Math.sqrt(ss / 10), 12);
  });

  it('widens the bound of agreement while the noise estimate is young, so honest runs rarely disagree', () => {
    const classic = cfg.contradictK * 0.001 * Math.SQRT2;
    expect(agreementBound(0.001, 1e9, cfg)).toBeCloseTo(classic, 9);
    expect(agreementBound(0.001, 2, cfg) / classic).toBeGreaterThan(2);
    // At most 2.5×: at ν = 1, a baseline forged 0.02 off still disagrees with σ 0.0006.
    expect(agreementBound(0.0006, 1, cfg)).toBeLessThan(0.012);
    // Two honest runs 3σ apart, judged with σ estimated at half the truth at ν = 2.
    expect(contradicts(1.0, [1.003], { sigma: 0.0005, df: 2, samples: 4 }, cfg)).toBe(false);
    expect(contradicts(1.0, [1.003], { sigma: 0.0005, df: 200, samples: 300 }, cfg)).toBe(true);
  });

  it('has accurate normal and t quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(tQuantile(0.95, 1)).toBeCloseTo(6.3138, 3);
    expect(tQuantile(0.95, 2)).toBeCloseTo(2.92, 2);
    expect(tQuantile(0.95, 5)).toBeCloseTo(2.015, 1);
    expect(tQuantile(0.99, 10)).toBeCloseTo(2.764, 1);
    expect(tQuantile(0.95, 1e9)).toBeCloseTo(1.645, 3);
  });
});

describe('decide', () => {
  const noise = { sigma: 0.01, df: 6, samples: 9 };
  const baseline = [1.0, 1.01, 0.99];

  it('waits while there is no noise estimate or baseline', () => {
    expect(decide({ candidate: [0.9], baseline: [], noise }, cfg).verdict).toBe('wait');
    expect(
      decide({ candidate: [0.9], baseline, noise: { sigma: Number.NaN, df: 0, samples: 1 } }, cfg).verdict,
    ).toBe('wait');
  });

  it('stops a clear loser after one run and confirms a promising screen', () => {
    expect(decide({ candidate: [1.005], baseline, noise }, cfg).verdict).toBe('reject');
    expect(decide({ candidate: [0.985], baseline, noise }, cfg).verdict).toBe('reject'); // 1.5σ: within the margin
    const d = decide({ candidate: [0.97], baseline, noise }, cfg);
    expect(d.verdict).toBe('replicate');
    expect(d.margin).toBeCloseTo(0.02, 12);
  });

  it('waits for baselines instead of rejecting a clear gain that only a young noise estimate blocks', () => {
    const young = { sigma: 0.0003, df: 1, samples: 3 };
    const ev = { candidate: [0.9925, 0.9928, 0.9923, 0.9926], baseline: [1.0, 1.0003], noise: young };
    expect(decide(ev, cfg).verdict).toBe('reject'); // t(0.99, 1) = 31.8
    const d = decide({ ...ev, waitForNoise: true }, cfg);
    expect(d.verdict).toBe('wait');
    expect(d.reason).toContain('young noise estimate');
    // A null patch is not kept waiting, nor is anything once ν ≥ minNoiseDf.
    expect(decide({ ...ev, candidate: [1.0, 1.0002], waitForNoise: true }, cfg).verdict).toBe('reject');
    const grown = { ...ev, candidate: [0.9999, 0.9996], noise: { ...young, df: 4 }, waitForNoise: true };
    expect(decide(grown, cfg).verdict).toBe('reject');
  });

  it('accepts only when all samples beat the noise by the t rule', () => {
    // Δ −0.031 gives t −3.40: past t(0.99, 6) = 3.14, not t(0.998, 6) = 4.52 (the default α).
    expect(decide({ candidate: [0.97, 0.968], baseline, noise }, cfg).verdict).toBe('replicate');
    expect(decide({ candidate: [0.97, 0.968], baseline, noise }, { ...cfg, alpha: 0.01 }).verdict).toBe(
      'accept',
    );
    const d = decide({ candidate: [0.955, 0.953], baseline, noise }, cfg);
    expect(d.verdict).toBe('accept');
    expect(d.t!).toBeLessThan(-d.tCrit!);
    expect(d.reason).toContain('confirmed');
  });

  it('re-verifies at reverifyAlpha: it checks that a confirmed gain survived, not proves it again', () => {
    // Δ −0.025 over one run against three baselines: t −2.17, past t(0.95, 6) = 1.94 but not
    // t(0.99, 6) = 3.14.
    const d = decide({ candidate: [0.975], baseline, noise, confirmedBefore: true }, cfg);
    expect(d.verdict).toBe('accept');
    expect(d.reason).toContain('α=0.05');
    expect(decide({ candidate: [0.975, 0.975], baseline, noise, confirmedBefore: true }, cfg).verdict).toBe(
      'accept',
    );
    // The same numbers as a first confirmation are not enough.
    expect(decide({ candidate: [0.975, 0.975], baseline, noise }, cfg).verdict).toBe('replicate');
  });

  it('re-verifies a patch confirmed on an earlier base with one significant run on the new head', () => {
    const d = decide({ candidate: [0.96], baseline, noise, confirmedBefore: true }, cfg);
    expect(d.verdict).toBe('accept');
    expect(d.reason).toContain('re-verified');
    // The same run without an earlier confirmation is only a promising screen.
    expect(decide({ candidate: [0.96], baseline, noise }, cfg).verdict).toBe('replicate');
    // Not significant alone: back to the screen's rules (confirm, or stop).
    expect(decide({ candidate: [0.979], baseline, noise, confirmedBefore: true }, cfg).verdict).toBe(
      'replicate',
    );
    expect(decide({ candidate: [0.995], baseline, noise, confirmedBefore: true }, cfg).verdict).toBe(
      'reject',
    );
  });

  it('earns more replicates near the threshold, and rejects when the gain fades', () => {
    expect(decide({ candidate: [0.97, 0.99], baseline, noise }, cfg).verdict).toBe('replicate');
    expect(decide({ candidate: [0.97, 1.02], baseline, noise }, cfg).verdict).toBe('reject');
    expect(decide({ candidate: [0.97, 0.99, 0.99, 0.99], baseline, noise }, cfg).verdict).toBe('reject');
  });

  it('never accepts a gain below the floor, however small the noise', () => {
    const tiny = { sigma: 1e-7, df: 10, samples: 12 };
    expect(decide({ candidate: [0.9999, 0.9999], baseline: [1, 1, 1], noise: tiny }, cfg).verdict).toBe(
      'reject',
    );
  });

  it('keeps the false-accept rate of null patches near α (simulated)', () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    let accepted = 0;
    let naive = 0;
    const trials = 4000;
    for (let i = 0; i < trials; i++) {
      const base = [1 + 0.01 * gauss(), 1 + 0.01 * gauss(), 1 + 0.01 * gauss()];
      const samples = [1 + 0.01 * gauss()];
      if (samples[0]! < base[0]!) naive++;
      let d = decide({ candidate: samples, baseline: base, noise }, cfg);
      while (d.verdict === 'replicate') {
        samples.push(1 + 0.01 * gauss());
        d = decide({ candidate: samples, baseline: base, noise }, cfg);
      }
      if (d.verdict === 'accept') accepted++;
    }
    expect(accepted / trials).toBeLessThan(0.02);
    expect(naive / trials).toBeGreaterThan(0.4);
  });
});

describe('trust and sanity', () => {
  const noise = { sigma: 0.01, df: 6, samples: 9 };
  it('flags a screen its confirmation contradicts', () => {
    expect(contradicts(0.9, [1.0], noise, cfg)).toBe(true);
    expect(contradicts(0.97, [0.975], noise, cfg)).toBe(false);
  });
  it('flags throttled runs', () => {
    const s = (steps: number | null, tokensM: number | null = null) => ({ steps, tokensM });
    expect(isThrottled(s(100), [s(400), s(420)], cfg)).toBe(true);
    expect(isThrottled(s(390), [s(400), s(420)], cfg)).toBe(false);
    expect(isThrottled(s(null), [s(400)], cfg)).toBe(false);
    // Twice the batch: half the steps, the same tokens — not throttled.
    expect(isThrottled(s(200, 1.6), [s(400, 1.6), s(420, 1.7)], cfg)).toBe(false);
    expect(isThrottled(s(200, 0.5), [s(400, 1.6), s(420, 1.7)], cfg)).toBe(true);
    // Tokens only count when every run reports them.
    expect(isThrottled(s(100, 1.6), [s(400, 1.6), s(420, null)], cfg)).toBe(true);
  });
  it('judges throughput by compute: a larger model at fewer tokens is not throttled', () => {
    const s = (tokensM: number, paramsM: number | null) => ({ steps: tokensM * 100, tokensM, paramsM });
    // Four times the parameters, a third of the tokens: the same machine, working as hard.
    expect(isThrottled(s(0.6, 0.8), [s(1.8, 0.2), s(1.7, 0.2)], cfg)).toBe(false);
    // The same model at a third of the tokens: the machine was busy.
    expect(isThrottled(s(0.6, 0.2), [s(1.8, 0.2), s(1.7, 0.2)], cfg)).toBe(true);
  });
  it('never calls a run throttled whose budget is compute: it trained as much, however slowly', () => {
    const run = throughputOf({
      metrics: { num_steps: 10, total_tokens_M: 0.1, num_params_M: 0.2 },
      extra: { budget_clock: 'compute' },
    });
    const base = { steps: 400, tokensM: 1.6, paramsM: 0.2 };
    expect(isThrottled(run, [base, base], cfg)).toBe(false);
  });
  it('never calls a run throttled whose budget is its own CPU time', () => {
    const run = throughputOf({
      metrics: { num_steps: 10, total_tokens_M: 0.1, num_params_M: 0.2 },
      extra: { budget_clock: 'cpu' },
    });
    expect(run.budgetClock).toBe('cpu');
    const base = { steps: 400, tokensM: 1.6, paramsM: 0.2 };
    expect(isThrottled(run, [base, base], cfg)).toBe(false);
    expect(isThrottled({ ...run, budgetClock: 'wall' }, [base, base], cfg)).toBe(true);
  });
  it('quarantines implausible numbers', () => {
    expect(implausible(0.3, 1, noise, 0, cfg)).toContain('sanity band');
    expect(implausible(0.65, 1, noise, 0.01, cfg)).toContain('far beyond');
    expect(implausible(0.97, 1, noise, 0.01, cfg)).toBeNull();
  });
});
