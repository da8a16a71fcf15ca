/**
 * What happens when a worker reports: record the run, then hand it to the lifecycle. Baselines
 * feed the per-class noise estimate and wake the candidates waiting for them; a batch's run
 * goes to its batch (`batch-verdict.ts`); a candidate's to its proposal (`lifecycle-driver.ts`).
 * The rules themselves are in `pipeline/lifecycle.ts`.
 */
import type { Experiment, JobOutcome } from '@ratchet/shared';
import { recordBaseline } from '../baselines/baseline-verify.ts';
import { ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { onBatchRun } from '../merge/batch-verdict.ts';
import type { BaselineStanding } from '../pipeline/baseline-trust.ts';
import { evaluate, finishedRun, setVerdict } from './lifecycle-driver.ts';

export async function recordOutcome(deps: Deps, exp: Experiment, outcome: JobOutcome) {
  const recorded: Experiment = {
    ...exp,
    status: outcome.status,
    metrics: outcome.status === 'ok' ? outcome.metrics : null,
    extra: outcome.status === 'ok' ? outcome.extra : {},
    crash: outcome.status === 'crash' ? { reason: outcome.reason, message: outcome.message } : null,
    logTail: outcome.logTail,
    timings: outcome.timings,
    finishedAt: outcome.timings.reportedAt,
    recordedAt: deps.clock.now(),
  };
  let standing: BaselineStanding | null = null;
  if (recorded.kind === 'baseline' && recorded.metrics && recorded.hardwareClass) {
    // The sample goes in before the run stops counting as pending, so that a concurrent
    // ensureBaselineJobs never sees neither and schedules one replicate too many. It counts
    // only once verified (`baseline-verify.ts`); until then it is stored and shown.
    standing = await recordBaseline(deps, recorded, recorded.hardwareClass);
  }
  await deps.store.putExperiment(recorded);
  deps.events.step?.('record:written');
  if (recorded.kind === 'baseline') await onBaseline(deps, recorded, standing);
  else if (recorded.batchId) await onBatchRun(deps, recorded);
  else if (recorded.proposalId && recorded.hardwareClass)
    await evaluate(deps, recorded.proposalId, recorded.hardwareClass, finishedRun(recorded));
  deps.events.experimentFinished?.({ experimentId: exp.id });
}

/**
 * A finished baseline's verdict, then what waited for it. `standing` is its baseline's
 * standing as just recorded; when the hand-over resumes after a crash it is read back.
 */
export async function onBaseline(deps: Deps, e: Experiment, standing?: BaselineStanding | null) {
  const cls = e.hardwareClass!;
  if (e.status === 'ok' && e.metrics && standing === undefined) {
    const counted = (await deps.store.getBaselineSamples(e.track, e.base, cls)).some(
      (s) => s.experimentId === e.id,
    );
    standing = { experimentId: e.id, counted, reason: counted ? 'counted' : 'not verified yet' };
  }
  if (e.status === 'ok' && e.metrics && standing) {
    const what = `baseline of ${e.base.slice(0, 7)} on ${cls}`;
    const isCounted = async () =>
      (await deps.store.getBaselineSamples(e.track, e.base, cls)).some((s) => s.experimentId === e.id);
    const verified = `${what}, verified: another worker's baseline agrees`;
    if (standing.counted) await setVerdict(deps, e.id, 'baseline', `${what}, ${standing.reason}`);
    else if (await isCounted()) await setVerdict(deps, e.id, 'baseline', verified);
    else {
      await setVerdict(deps, e.id, 'pending', `${what}: ${standing.reason}`);
      // Another principal's report may count it meanwhile and mark it before our write:
      // look once more after it (that report marks it itself if it counts it later).
      if (await isCounted()) await setVerdict(deps, e.id, 'baseline', verified);
    }
  } else {
    await setVerdict(deps, e.id, 'crash', `baseline ${e.status}: ${e.crash?.message ?? ''}`);
  }
  await ensureBaselineJobs(deps, e.track, e.base, cls);
  for (const pid of await deps.store.takeAwaiting(e.track, e.base, cls)) await evaluate(deps, pid, cls);
}
