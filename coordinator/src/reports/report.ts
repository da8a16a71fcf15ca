/** The research log as upstream's results.tsv rows, oldest first. */
import type { Experiment, ResultRow } from '@ratchet/shared';
import type { Deps } from '../deps.ts';

function statusOf(e: Experiment): ResultRow['status'] | null {
  if (e.status === 'crash' || e.status === 'patch_failed') return 'crash';
  if (e.status !== 'ok') return null;
  if (e.verdict === 'baseline' || e.verdict === 'keep') return 'keep';
  if (e.verdict === null || e.verdict === 'pending' || e.verdict === 'promising') return null;
  return 'discard';
}

/** A batch re-verification names all its members. */
async function describeRun(deps: Deps, e: Experiment, own: string): Promise<string> {
  const b = e.batchId ? await deps.store.batches.get(e.batchId) : null;
  if (!b || b.members.length < 2) return own;
  const ps = await Promise.all(b.members.map((id) => deps.store.getProposal(id)));
  return `together: ${ps.map((p) => p?.description ?? '?').join('; ')}`;
}

export async function resultRows(deps: Deps, track: string): Promise<ResultRow[]> {
  await deps.store.requireTrack(track);
  const exps = (await deps.store.listExperiments(track))
    .filter((e) => e.finishedAt !== null)
    .sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
  const workers = new Map((await deps.store.listWorkers()).map((w) => [w.id, w.name]));
  const rows: ResultRow[] = [];
  for (const e of exps) {
    const status = statusOf(e);
    if (!status) continue;
    const p = e.proposalId ? await deps.store.getProposal(e.proposalId) : null;
    rows.push({
      // A merged winner is its merge commit; anything else is named by the commit it ran on.
      commit: p?.mergedCommit && e.verdict === 'keep' ? p.mergedCommit : e.base,
      valBpb: e.metrics?.val_bpb ?? null,
      peakVramMb: e.metrics?.peak_vram_mb ?? null,
      status,
      description: await describeRun(deps, e, p?.description ?? 'baseline'),
      hardwareClass: e.hardwareClass ?? '',
      worker: (e.workerId && workers.get(e.workerId)) || e.workerId || '',
      proposer: p?.proposer ?? 'ratchet',
      delta: e.delta,
      stage: e.stage,
      reason: e.verdictReason ?? '',
    });
  }
  return rows;
}
