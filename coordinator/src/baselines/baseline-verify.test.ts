/**
 * Which reports of a commit's baselines wait for another principal. A trusted worker's report
 * counts as it comes (`pipeline/baseline-trust.ts`), but its report and its count are two
 * writes: a baseline job queued between them once saw it as held, kept the track's only
 * principal off the job, and every proposal on that head waited for another principal that
 * never came (the research bench's null-patch run, seed 5, hung until its bound).
 */
import { afterEach, expect, it } from 'vitest';
import { startCoordinator, type TestCoordinator } from '../../../test/support/harness.ts';
import { unverifiedBaselines } from './baseline-verify.ts';
import { ensureBaselineJobs } from './baselines.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const CLS = 'cpu-test-class';
const sample = (experimentId: string, principal: string, trusted: boolean) => ({
  valBpb: 1.0,
  steps: 100,
  tokensM: null,
  experimentId,
  peakVramMb: null,
  principal,
  trusted,
  workerId: null,
});

it('does not hold a trusted report that is not counted yet, nor keep its principal off the next baseline', async () => {
  t = await startCoordinator();
  const deps = t.c.deps;
  const head = (await deps.frontier.head('standin'))!;
  // Reported, not yet counted: the moment between the two writes.
  await deps.store.addReportedBaseline('standin', head, CLS, sample('trusted-1', 'lab', true));
  expect(await unverifiedBaselines(deps, 'standin', head, CLS)).toEqual({ count: 0, principals: [] });

  await ensureBaselineJobs(deps, 'standin', head, CLS);
  const claims = await deps.store.baselineClaims('standin', head, CLS);
  expect(claims.length).toBeGreaterThan(0);
  for (const id of claims) expect((await deps.store.getExperiment(id))?.excludePrincipals ?? []).toEqual([]);

  // An untrusted report is held until another principal's baseline agrees with it.
  await deps.store.addReportedBaseline('standin', head, CLS, sample('volunteer-1', 'vol', false));
  expect(await unverifiedBaselines(deps, 'standin', head, CLS)).toEqual({ count: 1, principals: ['vol'] });
});
