/**
 * Seeds of runs. Pure.
 *
 * Every run draws a seed of its own, so that σ — measured between baseline replicates — is
 * the spread between seeds, and a candidate's runs are independent draws of the same kind:
 * - Baseline replicate i of a commit runs with a seed drawn from the commit and i. Were
 *   replicate i of every commit run with the same seed (seed + 1000 + i, as before), a
 *   track whose noise follows the seed would repeat the same few noise values on every
 *   commit, and the pooled σ would measure those few draws only (a third of the true σ on
 *   the known-answer track: honest screens then "contradict" honest confirmations).
 * - A candidate run must draw its seed the same way, independently: were every screen run
 *   with one seed, that seed's luck against the baselines' mean would bias every screen on a
 *   commit alike (an unlucky seed makes every change look worse, a lucky one makes null
 *   changes look better). Each proposal gets seeds of its own, one per run queued (a
 *   confirmation or an arbitration never reuses the screen's), apart from the baselines.
 *   A member re-verified alone after its batch draws the next seed of its proposal, and a
 *   batch's runs draw seeds from the batch's id: when every batch ran with the configured
 *   seed, each repeated the others' luck, and a member re-verified with its screen's seed
 *   replayed the very luck its screen had been selected for (a null patch re-verifies
 *   easily on a draw that once passed a screen).
 *
 * Baselines and candidates are not paired by seed. Pairing cancels the seed's noise only
 * where the noise follows the seed exactly (one machine, deterministic kernels); across
 * workers of a class it does not, and the acceptance rule (`stats.ts`) compares a
 * candidate's mean with the baselines' mean using σ between seeds, which independent seeds
 * keep calibrated.
 */
function fnv(text: string): number {
  // FNV-1a: stable across processes and restarts.
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Candidate seeds: seed + [100 000, 16 100 000). */
export function candidateSeed(seed: number, proposalId: string, run: number): number {
  return seed + 100_000 + (fnv(proposalId) % 1_000_000) * 16 + run;
}

/** Baseline seeds: seed + [20 000 000, 276 000 000), 256 replicates per commit. */
export function baselineSeed(seed: number, commit: string, replicate: number): number {
  return seed + 20_000_000 + (fnv(commit) % 1_000_000) * 256 + (replicate % 256);
}
