/**
 * The research frontier as a picture's data, per (track, hardware class): every measured
 * experiment as a point over time, the kept ones and baselines, the running best and the
 * merges. The page's chart and `ratchet plot` (upstream's progress.png) both draw this.
 * Types only from the schemas, so the browser bundle does not carry zod.
 */
import type { DashExperiment } from './dashboard.ts';

export type PointKind = 'baseline' | 'kept' | 'discarded';

export interface FrontierPoint {
  id: string;
  /** Epoch ms at which the result was recorded. */
  at: number;
  valBpb: number;
  kind: PointKind;
  description: string;
}

export interface FrontierSeries {
  track: string;
  hardwareClass: string;
  /** Oldest first. */
  points: FrontierPoint[];
  /** The best val_bpb among baselines and kept results so far, at each point. */
  best: number[];
  merges: { at: number; commit: string; description: string; valBpb: number }[];
}

type Row = Pick<
  DashExperiment,
  'id' | 'track' | 'hardwareClass' | 'valBpb' | 'recordedAt' | 'verdict' | 'description' | 'mergedCommit'
>;

function kindOf(r: Row): PointKind {
  if (r.verdict === 'baseline') return 'baseline';
  if (r.verdict === 'keep') return 'kept';
  return 'discarded';
}

/** Hardware classes that measured something on a track, the busiest first. */
export function frontierClasses(rows: readonly Row[], track: string): string[] {
  const n = new Map<string, number>();
  for (const r of rows) {
    if (r.track !== track || r.valBpb === null || r.recordedAt === null || !r.hardwareClass) continue;
    n.set(r.hardwareClass, (n.get(r.hardwareClass) ?? 0) + 1);
  }
  return [...n].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}

export function frontierSeries(rows: readonly Row[], track: string, hardwareClass: string): FrontierSeries {
  const points: FrontierPoint[] = rows
    .filter(
      (r): r is Row & { valBpb: number; recordedAt: number } =>
        r.track === track && r.hardwareClass === hardwareClass && r.valBpb !== null && r.recordedAt !== null,
    )
    .map((r) => ({
      id: r.id,
      at: r.recordedAt,
      valBpb: r.valBpb,
      kind: kindOf(r),
      description: r.description,
    }))
    .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  const best: number[] = [];
  let cur = Number.POSITIVE_INFINITY;
  for (const p of points) {
    if (p.kind !== 'discarded') cur = Math.min(cur, p.valBpb);
    best.push(cur);
  }
  // Every kept run of a merged proposal (screen, confirmation) names the merge commit; the
  // merge happened after the last of them. A batch names one commit for several proposals.
  const byCommit = new Map<string, FrontierSeries['merges'][number]>();
  for (const m of rows
    .filter(
      (r): r is Row & { valBpb: number; recordedAt: number; mergedCommit: string } =>
        r.track === track &&
        r.hardwareClass === hardwareClass &&
        r.mergedCommit !== null &&
        r.valBpb !== null &&
        r.recordedAt !== null,
    )
    .map((r) => ({
      at: r.recordedAt,
      commit: r.mergedCommit,
      description: r.description,
      valBpb: r.valBpb,
    }))) {
    const cur = byCommit.get(m.commit);
    if (!cur || m.at > cur.at) byCommit.set(m.commit, m);
  }
  const merges = [...byCommit.values()].sort((a, b) => a.at - b.at);
  return { track, hardwareClass, points, best, merges };
}
