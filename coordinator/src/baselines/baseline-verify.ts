/**
 * A reported baseline becomes a counted one (`pipeline/baseline-trust.ts` decides): every
 * report is stored with who stands behind it; those that count are added to the samples that
 * decisions and the noise estimate read. A report that does not count yet may count later,
 * when another principal's baseline of the same commit agrees with it: each new report
 * re-judges them all.
 */
import type { BaselineSample, Experiment } from '@ratchet/shared';
import { workerPrincipal } from '../auth/principals.ts';
import type { Deps } from '../deps.ts';
import { type BaselineStanding, type RawBaseline, verifyBaselines } from '../pipeline/baseline-trust.ts';
import { pooledNoise } from '../pipeline/stats.ts';

/** A trusted token, or trust earned on the class by consecutive validated results. */
export async function isTrusted(deps: Deps, workerId: string | null, cls: string): Promise<boolean> {
  if (!workerId) return false;
  const w = await deps.store.getWorker(workerId);
  if (w?.trusted) return true;
  return (await deps.store.trust(workerId, cls)) >= deps.config.acceptance.trustThreshold;
}

function raw(s: BaselineSample, trusted: boolean): RawBaseline {
  return {
    experimentId: s.experimentId,
    valBpb: s.valBpb,
    principal: s.principal ?? `run:${s.experimentId}`,
    trusted,
  };
}

/** The sample a finished run gives its commit, with who stands behind it. */
async function sampleOf(
  deps: Deps,
  run: Omit<BaselineSample, 'principal' | 'trusted' | 'workerId'>,
  workerId: string | null,
  cls: string,
): Promise<BaselineSample> {
  const w = workerId ? await deps.store.getWorker(workerId) : null;
  const trusted =
    !!w && (w.trusted || (await deps.store.trust(w.id, cls)) >= deps.config.acceptance.trustThreshold);
  return { ...run, principal: w ? workerPrincipal(w).id : `worker:${workerId}`, trusted, workerId };
}

/**
 * Store a baseline of (track, commit, class) and re-judge every report of it; the ones that
 * now count are counted, and earlier reports that just became counted get their verdict
 * (all but `own`, whose caller sets it). Returns the standing of `sample`.
 */
async function report(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
  sample: BaselineSample,
  own: string | null,
): Promise<BaselineStanding> {
  const reported = await deps.store.addReportedBaseline(track, commit, cls, sample);
  if (reported.every((r) => r.trusted)) {
    // Only trusted reports (the single-machine default): each counts as it comes.
    await deps.store.countBaselineSample(track, commit, cls, sample);
    return { experimentId: sample.experimentId, counted: true, reason: 'from a trusted worker' };
  }
  const counted = await deps.store.getBaselineSamples(track, commit, cls);
  const ids = new Set(reported.map((r) => r.experimentId));
  // Samples that count without a report (recorded before reports existed) are references.
  const refs = counted.filter((c) => !ids.has(c.experimentId)).map((c) => raw(c, true));
  const noise = pooledNoise(await deps.store.baselineGroups(track, cls));
  const standings = verifyBaselines(
    [...refs, ...reported.map((r) => raw(r, r.trusted === true))],
    noise,
    deps.config.acceptance,
  );
  const byId = new Map(reported.map((r) => [r.experimentId, r]));
  let mine: BaselineStanding = { experimentId: sample.experimentId, counted: false, reason: 'unverified' };
  for (const s of standings) {
    const r = byId.get(s.experimentId);
    if (!r) continue;
    if (s.experimentId === sample.experimentId) mine = s;
    if (!s.counted) continue;
    const now = await deps.store.countBaselineSample(track, commit, cls, r);
    const x = now && s.experimentId !== own ? await deps.store.getExperiment(s.experimentId) : null;
    // A merge's runs keep their own verdicts (keep); a baseline run shows that it counts.
    if (x?.kind === 'baseline')
      await deps.store.putExperiment({
        ...x,
        verdict: 'baseline',
        verdictReason: `baseline of ${commit.slice(0, 7)} on ${cls}, ${s.reason}`,
      });
  }
  return mine;
}

/** Store the baseline run `e` reported; returns its standing (its verdict is the caller's). */
export async function recordBaseline(deps: Deps, e: Experiment, cls: string): Promise<BaselineStanding> {
  const m = e.metrics!;
  const run = {
    valBpb: m.val_bpb,
    steps: m.num_steps,
    tokensM: m.total_tokens_M,
    paramsM: m.num_params_M,
    experimentId: e.id,
    peakVramMb: m.peak_vram_mb,
  };
  return report(deps, e.track, e.base, cls, await sampleOf(deps, run, e.workerId, cls), e.id);
}

/**
 * A merge's runs become baselines of its commit like any other report: a screen and a
 * confirmation of two principals verify each other; a lone run of an untrusted worker (a
 * re-verification, a batch's run) waits for another principal's baseline of the commit.
 */
export async function recordMergeRuns(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
  runs: {
    experimentId: string;
    valBpb: number;
    steps: number | null;
    tokensM: number | null;
    peakVramMb: number | null;
  }[],
): Promise<void> {
  for (const r of runs) {
    const e = await deps.store.getExperiment(r.experimentId);
    const sample = await sampleOf(deps, { ...r, tokensM: r.tokensM ?? null }, e?.workerId ?? null, cls);
    await report(deps, track, commit, cls, sample, null);
  }
}

/** Reports of (commit, class) that do not count (yet), and the principals behind them. */
export async function unverifiedBaselines(
  deps: Deps,
  track: string,
  commit: string,
  cls: string,
): Promise<{ count: number; principals: string[] }> {
  const counted = new Set(
    (await deps.store.getBaselineSamples(track, commit, cls)).map((s) => s.experimentId),
  );
  // A trusted report counts as it comes; one not counted yet is between its two writes
  // (report, count), not waiting for anyone: held, it kept the only principal off the next
  // baseline job, and the head's proposals waited for another principal forever.
  const held = (await deps.store.reportedBaselines(track, commit, cls)).filter(
    (r) => r.trusted !== true && !counted.has(r.experimentId),
  );
  const principals = [...new Set(held.map((r) => r.principal).filter((p): p is string => !!p))];
  return { count: held.length, principals: principals.slice(0, 20) };
}
