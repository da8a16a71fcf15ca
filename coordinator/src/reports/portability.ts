/**
 * Results across classes. A gain is merged on the class that found it; whether it holds on
 * the other classes that run the track is measured afterwards, at low priority: baseline
 * runs of the merged commit and of its parent on each class, in that class's `…later`
 * queue, which its workers drain only when nothing else waits. The merged commit is the
 * head then, and every class measures its head first anyway (baselines/baselines.ts); the
 * parent is queued here. Those runs are ordinary baseline samples of (track, commit, class),
 * so they also feed each class's noise estimate, and results.tsv stays per class.
 *
 * `portabilityMatrix` reads, per merged commit, mean(commit) − mean(parent) on each class.
 */
import type { PortabilityCell, PortabilityMatrix, PortabilityRow } from '@ratchet/shared';
import { ensureBaselineJobs } from '../baselines/baselines.ts';
import type { Deps } from '../deps.ts';
import { classForTrack } from '../lease/worker-backends.ts';
import { mean, type PooledNoise, pooledNoise, tQuantile } from '../pipeline/stats.ts';

/** The low-priority queue of one (track, class): leased after its class and general queues. */
export function laterQueueName(track: string, cls: string): string {
  return `eval.${track}.${cls}.later`;
}

export interface MergeNote {
  track: string;
  commit: string;
  parent: string;
  /** The class the gain was measured and merged on. */
  cls: string;
  at: number;
}

/** Every class that runs the track: the classes of the workers registered for it. */
export async function classesRunning(deps: Deps, track: string): Promise<string[]> {
  const t = await deps.store.getTrack(track);
  if (!t) return [];
  const out = new Set<string>();
  for (const w of await deps.store.listWorkers()) {
    if (w.tracks.length > 0 && !w.tracks.includes(track)) continue;
    const cls = classForTrack(w, t.config);
    if (cls) out.add(cls);
  }
  return [...out].sort();
}

/**
 * The merge train moved `track` from `parent` to `commit` on `cls`: note it, and queue the
 * parent's measurement on every other class that runs the track. Never fails the merge.
 */
export async function onMerged(deps: Deps, note: MergeNote): Promise<void> {
  try {
    await deps.store.noteMerge(note.track, note);
    for (const cls of await classesRunning(deps, note.track)) {
      // Ordinary baseline claims of (parent, class), so a run queued here counts as pending
      // for the class's own baseline check, but in the later queue, at the lowest priority.
      if (cls !== note.cls)
        await ensureBaselineJobs(deps, note.track, note.parent, cls, {
          queue: laterQueueName(note.track, cls),
          priority: 1,
        });
    }
  } catch {
    // The matrix is a report: a failure here must not undo or block a merge.
  }
}

/** One cell: the commit's and its parent's baseline samples on a class. */
export function portabilityCell(
  cls: string,
  commit: readonly number[],
  parent: readonly number[],
  noise: PooledNoise,
  opts: { alpha: number; sigmaFloor: number; origin: boolean; queued: boolean },
): PortabilityCell {
  const base = {
    hardwareClass: cls,
    n: commit.length,
    m: parent.length,
    origin: opts.origin,
    queued: opts.queued,
  };
  if (commit.length === 0 || parent.length === 0) {
    return {
      ...base,
      state: 'not_measured',
      delta: null,
      commitMean: commit.length > 0 ? mean(commit) : null,
      parentMean: parent.length > 0 ? mean(parent) : null,
      sigma: Number.isFinite(noise.sigma) ? noise.sigma : null,
      t: null,
      significant: false,
    };
  }
  const delta = mean(commit) - mean(parent);
  const sigma = Number.isFinite(noise.sigma) ? Math.max(noise.sigma, opts.sigmaFloor) : null;
  const t = sigma === null ? null : delta / (sigma * Math.sqrt(1 / commit.length + 1 / parent.length));
  const crit = noise.df > 0 ? tQuantile(1 - opts.alpha / 2, noise.df) : Number.POSITIVE_INFINITY;
  return {
    ...base,
    state: delta < 0 ? 'held' : 'reversed',
    delta,
    commitMean: mean(commit),
    parentMean: mean(parent),
    sigma,
    t,
    significant: t !== null && Math.abs(t) > crit,
  };
}

async function hasPending(deps: Deps, track: string, commit: string, cls: string): Promise<boolean> {
  for (const id of await deps.store.baselineClaims(track, commit, cls)) {
    const e = await deps.store.getExperiment(id);
    if (e && (e.status === 'queued' || e.status === 'running')) return true;
  }
  return false;
}

export async function portabilityMatrix(deps: Deps, track: string): Promise<PortabilityMatrix> {
  await deps.store.requireTrack(track);
  const notes = (await deps.store.mergeNotes(track)) as MergeNote[];
  const classes = [...new Set([...(await classesRunning(deps, track)), ...notes.map((n) => n.cls)])].sort();
  const described = new Map<string, string[]>();
  for (const p of await deps.store.listProposals(track, 10_000)) {
    if (p.mergedCommit)
      described.set(p.mergedCommit, [...(described.get(p.mergedCommit) ?? []), p.description]);
  }
  const noise = new Map<string, PooledNoise>();
  for (const cls of classes) noise.set(cls, pooledNoise(await deps.store.baselineGroups(track, cls)));
  const a = deps.config.acceptance;
  const rows: PortabilityRow[] = [];
  for (const n of notes.reverse()) {
    const cells: PortabilityCell[] = [];
    for (const cls of classes) {
      const values = async (c: string) =>
        (await deps.store.getBaselineSamples(track, c, cls)).map((s) => s.valBpb);
      const queued =
        (await hasPending(deps, track, n.commit, cls)) || (await hasPending(deps, track, n.parent, cls));
      cells.push(
        portabilityCell(cls, await values(n.commit), await values(n.parent), noise.get(cls)!, {
          alpha: a.alpha,
          sigmaFloor: a.sigmaFloor,
          origin: cls === n.cls,
          queued,
        }),
      );
    }
    rows.push({
      commit: n.commit,
      parent: n.parent,
      description: (described.get(n.commit) ?? ['']).join('; '),
      mergedAt: n.at,
      originClass: n.cls,
      cells,
    });
  }
  return { track, classes, rows };
}
