/**
 * The portability matrix: per merged commit, its delta on each hardware class measured so
 * far. A gain is merged on one class; whether it holds on the others is measured later,
 * at low priority, by baseline runs of the commit and its parent on each class.
 */
import { z } from 'zod';

/** held: lower val_bpb than its parent on that class; reversed: not lower; not_measured: no runs yet. */
export const PortabilityState = z.enum(['held', 'reversed', 'not_measured']);
export type PortabilityState = z.infer<typeof PortabilityState>;

export const PortabilityCell = z.object({
  hardwareClass: z.string(),
  state: PortabilityState,
  /** mean(commit) − mean(parent) on this class; negative is a gain. */
  delta: z.number().nullable(),
  commitMean: z.number().nullable(),
  parentMean: z.number().nullable(),
  n: z.number().int().nonnegative(),
  m: z.number().int().nonnegative(),
  /** The class's pooled baseline noise, and whether |delta| clears it at the coordinator's α (two-sided). */
  sigma: z.number().nullable(),
  t: z.number().nullable(),
  significant: z.boolean(),
  /** The class the gain was merged on. */
  origin: z.boolean(),
  /** Runs of the commit or its parent are queued or running on this class. */
  queued: z.boolean(),
});
export type PortabilityCell = z.infer<typeof PortabilityCell>;

export const PortabilityRow = z.object({
  commit: z.string(),
  parent: z.string(),
  description: z.string(),
  mergedAt: z.number(),
  originClass: z.string(),
  cells: z.array(PortabilityCell),
});
export type PortabilityRow = z.infer<typeof PortabilityRow>;

export const PortabilityMatrix = z.object({
  track: z.string(),
  classes: z.array(z.string()),
  rows: z.array(PortabilityRow),
});
export type PortabilityMatrix = z.infer<typeof PortabilityMatrix>;

/** The matrix as a fixed-width table, one row per merged commit, one column per class. */
export function formatPortabilityMatrix(m: PortabilityMatrix): string {
  const cell = (c: PortabilityCell | undefined): string => {
    if (!c || c.state === 'not_measured') return c?.queued ? 'queued' : 'not measured';
    const d = `${c.delta! >= 0 ? '+' : ''}${c.delta!.toFixed(6)}`;
    return `${d} ${c.state}${c.significant ? '' : ' ~'}${c.origin ? ' *' : ''}`;
  };
  const head = ['commit', 'description', ...m.classes];
  const rows = m.rows.map((r) => [
    r.commit.slice(0, 7),
    r.description.length > 40 ? `${r.description.slice(0, 39)}…` : r.description,
    ...m.classes.map((k) => cell(r.cells.find((c) => c.hardwareClass === k))),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const legend =
    '* merged on this class · ~ within the class noise · held: lower val_bpb than its parent there\n';
  return `${[line(head), ...rows.map(line)].join('\n')}\n${m.rows.length > 0 ? legend : ''}`;
}
