/**
 * results.tsv, upstream-compatible: the five columns `commit val_bpb memory_gb status
 * description` first (short hash, `%.6f`, GB to one decimal, keep|discard|crash; crash rows
 * `0.000000` and `0.0`), then ratchet's extra columns.
 */
export interface ResultRow {
  commit: string;
  valBpb: number | null;
  peakVramMb: number | null;
  status: 'keep' | 'discard' | 'crash';
  description: string;
  hardwareClass: string;
  worker: string;
  proposer: string;
  delta: number | null;
  /** baseline, screen or confirm. */
  stage?: string;
  /** Why the verdict: the rule's numbers. */
  reason?: string;
}

export const RESULTS_HEADER = [
  'commit',
  'val_bpb',
  'memory_gb',
  'status',
  'description',
  'hardware',
  'worker',
  'proposer',
  'delta',
  'stage',
  'reason',
] as const;

/** Tabs and newlines would break the format: they become spaces. */
function cell(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ').trim();
}

export function formatResultRow(r: ResultRow): string {
  const crash = r.status === 'crash';
  const bpb = crash || r.valBpb === null ? '0.000000' : r.valBpb.toFixed(6);
  const mem = crash || r.peakVramMb === null ? '0.0' : (r.peakVramMb / 1024).toFixed(1);
  const delta = r.delta === null || crash ? '' : (r.delta >= 0 ? '+' : '') + r.delta.toFixed(6);
  return [
    r.commit.slice(0, 7),
    bpb,
    mem,
    r.status,
    cell(r.description),
    cell(r.hardwareClass),
    cell(r.worker),
    cell(r.proposer),
    delta,
    cell(r.stage ?? ''),
    cell(r.reason ?? ''),
  ].join('\t');
}

export function formatResultsTsv(rows: readonly ResultRow[]): string {
  return [RESULTS_HEADER.join('\t'), ...rows.map(formatResultRow)].join('\n') + '\n';
}
