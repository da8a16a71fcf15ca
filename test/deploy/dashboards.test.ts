/** The checked-in dashboards are what dashboards.ts generates, and hold the panels a lab needs. */
import { describe, expect, it } from 'vitest';
import { dashboards, panelQueries } from '../../deploy/grafana/src/dashboards.ts';
import { drifted } from '../../deploy/grafana/src/generate.ts';

describe('Grafana dashboards', () => {
  it('match the JSON checked in under deploy/grafana/dashboards (run pnpm run dashboards)', async () => {
    expect(await drifted()).toEqual([]);
  });

  it('hold the frontier, verdicts, queues, workers, leases, runs, merges, strategies and throughput', () => {
    const titles = Object.values(dashboards()).flatMap((d) => (d.panels ?? []).map((p) => p.title));
    for (const t of [
      'Frontier: best val_bpb',
      'Experiments per hour by verdict',
      'Queue depth',
      'Queue wait',
      'Workers by class and state',
      'Lease expiries',
      'Lease latency',
      'Run durations',
      'Merge train',
      'Strategy leaderboard',
      'Per-worker throughput',
    ]) {
      expect(titles).toContain(t);
    }
  });

  it('query only the provisioned Prometheus data source, with a query in every panel', () => {
    for (const [file, d] of Object.entries(dashboards())) {
      for (const p of d.panels ?? []) {
        if (p.type === 'row') continue;
        expect(p.datasource, `${file} / ${p.title}`).toEqual({ type: 'prometheus', uid: 'prometheus' });
        expect(panelQueries(file, { ...d, panels: [p] }).length, `${file} / ${p.title}`).toBeGreaterThan(0);
      }
    }
  });
});
