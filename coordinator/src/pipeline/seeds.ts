/**
 * Seeds of candidate runs. Pure.
 *
 * Baseline replicate i of a commit runs with seed + 1000 + i, so σ includes the spread
 * between seeds. A candidate run must draw its seed the same way, independently: were every
 * screen run with one seed, that seed's luck against the baselines' mean would bias every
 * screen on a commit alike (an unlucky seed makes every change look worse, a lucky one
 * makes null changes look better). Each proposal gets seeds of its own, apart from the
 * baselines' range, one per run.
 */
export function candidateSeed(seed: number, proposalId: string, run: number): number {
  // FNV-1a over the id: stable across processes and restarts.
  let h = 2166136261;
  for (let i = 0; i < proposalId.length; i++) h = Math.imul(h ^ proposalId.charCodeAt(i), 16777619) >>> 0;
  return seed + 100_000 + (h % 1_000_000) * 16 + run;
}
