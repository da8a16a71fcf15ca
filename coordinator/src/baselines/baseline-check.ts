/**
 * The baseline check on the lease path, at most once a second per (track, commit, class)
 * and process. `ensureBaselineJobs` costs about 14 Redis round trips to conclude, almost
 * always, that nothing is needed; every lease ran it. Completions still run it unthrottled
 * (a finished baseline is what changes its answer), and a moved head is a new key.
 */

import type { Deps } from '../deps.ts';
import { ensureBaselineJobs } from './baselines.ts';

export const BASELINE_CHECK_MS = 1_000;

const checked = new WeakMap<Deps, Map<string, number>>();

export async function ensureBaselineJobsOnLease(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
): Promise<void> {
  let seen = checked.get(deps);
  if (!seen) {
    seen = new Map();
    checked.set(deps, seen);
  }
  const key = `${track}\n${commit}\n${cls}`;
  const now = deps.clock.now();
  const at = seen.get(key);
  if (at !== undefined && now - at < BASELINE_CHECK_MS) return;
  seen.set(key, now);
  // Old keys (heads long gone) would pile up: forget those not checked for a while.
  if (seen.size > 1_000) for (const [k, t] of seen) if (now - t > 60_000) seen.delete(k);
  try {
    await ensureBaselineJobs(deps, track, commit, cls);
  } catch (e) {
    seen.delete(key);
    throw e;
  }
}
