/**
 * Which baselines count. Pure.
 *
 * A baseline is the reference every candidate of its commit is judged against, and its
 * spread is the class's noise: one forged baseline could make every null patch look like a
 * gain, or every real gain look like noise. So a baseline is verified like a candidate:
 *   - from a trusted principal (a trusted token, or a worker that earned trust on the
 *     class), it counts at once — the single-machine default, one trusted local worker,
 *     works as before;
 *   - from an untrusted one, it counts once a baseline of the same commit on the same class
 *     from another principal agrees with it within the noise; until then it is stored and
 *     shown, but no decision uses it.
 * "Agrees": within contradictK · √2 · σ, the bound that calls a screen contradicted by its
 * confirmation, but never widened while σ is young. σ is the class's noise when it has one
 * (ν ≥ 1), else the spread of each principal's own replicates of this commit (a liar that
 * shifts every number keeps an honest spread, so its shift still shows), else none: only
 * identical numbers agree (a deterministic track), and a noisy one waits for a principal's
 * second replicate. The σ floor's tolerance there (4·√2·10⁻⁴) let only the pairs that happened
 * to be that close count: on a track of σ 0.0006 half the honest pairs, the closer half, so
 * the first noise estimate came out far too small, and every later agreement, judged by it,
 * kept selecting close pairs (σ̂ a quarter of the truth at the end of a liar scenario, with
 * honest runs then "disagreeing" and a null patch merged).
 *
 * Why not widened: at ν = 1 one unlucky honest pair puts σ̂ at 2.5× the truth, and the widened
 * bound (14σ̂) let a liar's baselines 0.02 (33σ) off count for good. A screen wrongly called
 * contradicted costs an arbitration; an honest baseline wrongly held only waits for the next
 * report of its commit, which re-judges it (and `baselines.ts` queues more while reports of
 * several principals disagree).
 */
import { type AcceptanceConfig, type PooledNoise, pooledNoise } from './stats.ts';

function bound(sigma: number, cfg: AcceptanceConfig): number {
  return cfg.contradictK * Math.SQRT2 * Math.max(Number.isFinite(sigma) ? sigma : 0, cfg.sigmaFloor);
}

export interface RawBaseline {
  experimentId: string;
  valBpb: number;
  /** Who stands behind the number: the registering token, or the worker when unknown. */
  principal: string;
  trusted: boolean;
}

export interface BaselineStanding {
  experimentId: string;
  counted: boolean;
  reason: string;
}

/** The tolerance within which two principals' baselines of one commit agree. */
export function agreementTolerance(
  samples: readonly RawBaseline[],
  classNoise: PooledNoise,
  cfg: AcceptanceConfig,
): number {
  if (classNoise.df >= 1 && Number.isFinite(classNoise.sigma)) return bound(classNoise.sigma, cfg);
  const byPrincipal = new Map<string, number[]>();
  for (const s of samples) byPrincipal.set(s.principal, [...(byPrincipal.get(s.principal) ?? []), s.valBpb]);
  const own = pooledNoise([...byPrincipal.values()]);
  return own.df >= 1 ? bound(own.sigma, cfg) : 0;
}

/** The standing of every baseline of one (commit, class), in the order given. */
export function verifyBaselines(
  samples: readonly RawBaseline[],
  classNoise: PooledNoise,
  cfg: AcceptanceConfig,
): BaselineStanding[] {
  const tol = agreementTolerance(samples, classNoise, cfg);
  return samples.map((s) => {
    if (s.trusted) return { experimentId: s.experimentId, counted: true, reason: 'from a trusted worker' };
    const others = samples.filter((o) => o.principal !== s.principal);
    if (others.length === 0)
      return {
        experimentId: s.experimentId,
        counted: false,
        reason:
          "unverified: from an untrusted worker; counts once another worker's baseline of this commit agrees",
      };
    const nearest = Math.min(...others.map((o) => Math.abs(o.valBpb - s.valBpb)));
    if (nearest <= tol)
      return {
        experimentId: s.experimentId,
        counted: true,
        reason: `verified: another worker's baseline agrees within ${nearest.toFixed(6)} (tolerance ${tol.toFixed(6)})`,
      };
    return {
      experimentId: s.experimentId,
      counted: false,
      reason: `unverified: ${nearest.toFixed(6)} from the nearest baseline of another worker, beyond the tolerance ${tol.toFixed(6)}`,
    };
  });
}
