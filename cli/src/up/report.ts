/** The live lines `ratchet up` prints: one per finished experiment, and the frontier. */
import type { Experiment, Proposal } from '@ratchet/shared';

export function experimentLine(e: Experiment, p: Proposal | null): string {
  const time = new Date(e.recordedAt ?? Date.now()).toISOString().slice(11, 19);
  const what =
    e.kind === 'baseline' ? `baseline ${e.base.slice(0, 7)}` : (p?.description ?? e.proposalId ?? '?');
  const bpb = e.metrics ? e.metrics.val_bpb.toFixed(6) : (e.crash?.reason ?? e.status);
  const delta = e.delta === null ? '' : ` | Δ ${e.delta >= 0 ? '+' : ''}${e.delta.toFixed(6)}`;
  const steps = e.metrics?.num_steps ? ` | ${e.metrics.num_steps} steps` : '';
  return `[${time}] ${what} | ${e.hardwareClass ?? '?'} | val_bpb ${bpb}${delta}${steps} | ${e.verdict ?? e.status}`;
}

export function frontierLine(track: string, head: string, best: Map<string, number>, merged: number): string {
  const parts = [...best].map(([cls, v]) => `${v.toFixed(6)} on ${cls}`);
  return `frontier ${track} @ ${head.slice(0, 7)}: ${parts.join(', ') || 'no baseline yet'} (${merged} merged)`;
}
