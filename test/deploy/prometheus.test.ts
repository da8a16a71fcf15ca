/**
 * A real Prometheus scrapes a live coordinator every second while real workers run the
 * stand-in track (baselines, a merged and a discarded proposal) and a silent worker loses
 * its leases. Then every panel query of the checked-in dashboards runs over Prometheus's
 * HTTP API: none may error, none may come back empty. The alert rules load into the same
 * Prometheus and pass `promtool check rules` and `promtool test rules`; the Alertmanager
 * config passes `amtool check-config` and routes pages to the paging receiver.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { FINAL_PROPOSAL_STATUSES, type HardwareProfile } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { JOB, type PanelQuery, panelQueries } from '../../deploy/grafana/src/dashboards.ts';
import {
  qualityPatch,
  ROOT,
  startAgent,
  startCoordinator,
  type TestCoordinator,
  waitFor,
} from '../support/harness.ts';
import { startPrometheus, type TestPrometheus } from '../support/prometheus.ts';

const run = promisify(execFile);
const PROM_DIR = join(ROOT, 'deploy', 'prometheus');
const DASHBOARD_DIR = join(ROOT, 'deploy', 'grafana', 'dashboards');

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** A worker from another hardware class that takes its class's jobs and goes silent. */
const ghostProfile: HardwareProfile = {
  backend: 'cpu',
  os: 'linux',
  arch: 'x64',
  cpuModel: 'Ghost CPU',
  cpuCores: 4,
  memoryGb: 8,
  gpus: [],
  chip: null,
};

async function checkedInQueries(): Promise<PanelQuery[]> {
  const out: PanelQuery[] = [];
  for (const f of (await readdir(DASHBOARD_DIR)).filter((n) => n.endsWith('.json')).sort()) {
    out.push(...panelQueries(f, JSON.parse(await readFile(join(DASHBOARD_DIR, f), 'utf8')) as Dashboard));
  }
  return out;
}

/** What Grafana would send with the track variable on "All". */
function asGrafanaSends(expr: string): string {
  return expr.replaceAll('$track', '.*').replaceAll('$__rate_interval', '1m');
}

describe('alert rules', () => {
  it('pass promtool check rules and promtool test rules', async () => {
    const check = await run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: PROM_DIR });
    expect(check.stdout).toMatch(/SUCCESS: 6 rules found/);
    const test = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: PROM_DIR });
    expect(test.stdout).toMatch(/SUCCESS/);
  });

  it('route pages through an Alertmanager config that amtool accepts', async () => {
    const dir = join(ROOT, 'deploy', 'alertmanager');
    const check = await run('amtool', ['check-config', 'alertmanager.yml'], { cwd: dir });
    expect(check.stdout).toMatch(/SUCCESS/);
    const route = (...labels: string[]) =>
      run('amtool', ['config', 'routes', 'test', '--config.file=alertmanager.yml', ...labels], { cwd: dir });
    expect((await route('alertname=RatchetRedisDown', 'severity=page')).stdout.trim()).toBe('page');
    expect((await route('alertname=RatchetFrontierStalled', 'severity=warn')).stdout.trim()).toBe('default');
  });

  it('ship a Prometheus config that promtool accepts', async () => {
    const r = await run('promtool', ['check', 'config', '--syntax-only', 'prometheus.yml'], {
      cwd: PROM_DIR,
    });
    expect(r.stdout).toMatch(/SUCCESS/);
  });
});

describe('dashboards against a real Prometheus', () => {
  let t: TestCoordinator;
  let prom: TestPrometheus;

  it('answers every panel query with series from a live coordinator', { timeout: 300_000 }, async () => {
    // /metrics behind a token, as on a coordinator reachable from the internet.
    const metricsToken = randomBytes(24).toString('hex');
    t = await startCoordinator({
      RATCHET_LEASE_TTL_MS: '2000',
      RATCHET_STALLED_INTERVAL_MS: '500',
      RATCHET_METRICS_TOKEN: metricsToken,
    });
    cleanups.push(() => t.close());
    prom = await startPrometheus({
      job: JOB,
      target: new URL(t.url).host,
      ruleFiles: [join(PROM_DIR, 'alerts.yml')],
      bearerToken: metricsToken,
    });
    cleanups.push(() => prom.stop());

    // A worker that takes its class's baselines and never reports: its leases expire.
    const { token: ghostToken } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'ghost' });
    const ghost = createClient(t.url, ghostToken);
    const g = await ghost.workers.register.mutate({ name: 'ghost', profile: ghostProfile });
    let held = 0;
    while ((await ghost.workers.lease.mutate({ workerId: g.workerId, waitMs: 0 })).lease) held++;
    expect(held).toBeGreaterThan(0);

    // Two real workers (Python runs) research the stand-in track.
    const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'lab', trusted: true });
    for (const name of ['lab-1', 'lab-2']) {
      const a = await startAgent(t.url, token, { name });
      cleanups.push(() => a.stop());
    }
    const better = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.950000'),
      description: 'lower QUALITY',
      proposer: 'prom-test',
      strategy: 'by-hand',
    });
    const worse = await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '1.050000'),
      description: 'raise QUALITY',
      proposer: 'prom-test',
      strategy: 'by-hand',
    });
    const final = (id: string) =>
      waitFor(
        async () => {
          const p = await t.admin.proposals.get.query({ id });
          return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
        },
        180_000,
        `proposal ${id}`,
      );
    expect((await final(better.proposal.id)).status).toBe('merged');
    expect((await final(worse.proposal.id)).status).toBe('discarded');
    const metrics = await (
      await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
    ).text();
    expect(metrics).toMatch(/^ratchet_lease_expiries_total [1-9]/m);

    const queries = await checkedInQueries();
    expect(queries.length).toBeGreaterThanOrEqual(20);
    const answer = async (q: PanelQuery) => {
      const expr = asGrafanaSends(q.expr);
      expect(expr, `${q.panel}: a variable Grafana would fill in is left`).not.toMatch(/\$/);
      const now = Date.now() / 1000;
      const path = q.instant
        ? `/api/v1/query?query=${encodeURIComponent(expr)}&time=${now}`
        : `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${now - 120}&end=${now}&step=1`;
      const r = await prom.api(path);
      return { q, expr, r, series: (r.data as { result?: unknown[] } | undefined)?.result?.length ?? 0 };
    };
    // Prometheus may be a scrape or two behind the last event: retry the empty ones briefly.
    let answers = await Promise.all(queries.map(answer));
    const deadline = Date.now() + 20_000;
    while (answers.some((a) => a.r.status !== 'success' || a.series === 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      answers = await Promise.all(queries.map(answer));
    }
    const bad = answers
      .filter((a) => a.r.status !== 'success' || a.series === 0)
      .map((a) => `${a.q.dashboard} / ${a.q.panel} / ${a.q.refId}: ${a.r.error ?? 'no series'}\n  ${a.expr}`);
    expect(bad, bad.join('\n')).toEqual([]);

    // The alert rules loaded into this Prometheus and evaluate without errors.
    const rules = await prom.api('/api/v1/rules');
    const groups = (rules.data as { groups: { name: string; rules: { name: string; health: string }[] }[] })
      .groups;
    const ratchet = groups.find((x) => x.name === 'ratchet');
    expect(ratchet?.rules.map((r) => r.name).sort()).toEqual([
      'RatchetCoordinatorDown',
      'RatchetFrontierStalled',
      'RatchetLeaseExpiriesClimbing',
      'RatchetNoLiveWorker',
      'RatchetQueueNotDraining',
      'RatchetRedisDown',
    ]);
    expect(ratchet?.rules.filter((r) => r.health === 'err')).toEqual([]);
  });
});
