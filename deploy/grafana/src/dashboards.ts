/**
 * ratchet's Grafana dashboards, built with @grafana/grafana-foundation-sdk. The JSON under
 * deploy/grafana/dashboards/ is generated from this file (`pnpm run dashboards`); a test
 * fails when it drifts, and another runs every panel's query against a real Prometheus
 * scraping a live coordinator.
 *
 * Queries use the dashboard variable `$track` (a regex over track ids, `.*` for all) and
 * Grafana's `$__rate_interval`; nothing else Grafana-specific.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The provisioned Prometheus data source (deploy/grafana/provisioning/datasources). */
export const DATASOURCE = { type: 'prometheus', uid: 'prometheus' };
/** The Prometheus job that scrapes the coordinator (deploy/prometheus/prometheus.yml). */
export const JOB = 'ratchet';

const T = 'track=~"$track"';

function query(expr: string, legend?: string, refId = 'A') {
  const q = new prometheus.DataqueryBuilder().expr(expr).refId(refId).datasource(DATASOURCE);
  return legend ? q.legendFormat(legend) : q;
}

function series(title: string, description: string, unit: string) {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .height(8)
    .span(12)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    );
}

function stacked(title: string, description: string, unit: string, bars = false) {
  const p = series(title, description, unit)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .fillOpacity(60);
  return bars ? p.drawStyle(common.GraphDrawStyle.Bars) : p;
}

function single(title: string, description: string, unit: string, expr: string) {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .height(4)
    .span(6)
    .withTarget(query(expr).instant());
}

function trackVariable() {
  return new dashboard.QueryVariableBuilder('track')
    .label('track')
    .datasource(DATASOURCE)
    .query('label_values(ratchet_best_val_bpb, track)')
    .definition('label_values(ratchet_best_val_bpb, track)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

function base(uid: string, title: string, description: string) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['ratchet'])
    .refresh('30s')
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .annotations([])
    .withVariable(trackVariable());
}

export function researchDashboard() {
  return base('ratchet-research', 'ratchet · research', 'The frontier, verdicts, merges and strategies.')
    .withRow(new dashboard.RowBuilder('Frontier'))
    .withPanel(
      series('Frontier: best val_bpb', 'Best val_bpb per track and hardware class (lower is better).', 'none')
        .decimals(6)
        .withTarget(
          query(
            `min by (track, hardware_class) (ratchet_best_val_bpb{${T}})`,
            '{{track}} · {{hardware_class}}',
          ),
        ),
    )
    .withPanel(
      series(
        'Time since the frontier moved',
        'Since the last merge per track (or since the track was added).',
        's',
      ).withTarget(
        query(`time() - max by (track) (ratchet_frontier_moved_timestamp_seconds{${T}})`, '{{track}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Experiments and merges'))
    .withPanel(
      stacked(
        'Experiments per hour by verdict',
        'Verdicts given in the trailing hour; pending and promising, steps on the way to keep or discard, left out.',
        'short',
        true,
      ).withTarget(
        query(
          `sum by (verdict) (increase(ratchet_experiment_verdicts_total{${T}, verdict!~"pending|promising"}[1h]))`,
          '{{verdict}}',
        ),
      ),
    )
    .withPanel(
      stacked(
        'Merge train',
        'Proposals merged, sent to re-verification after a rebase, ended in conflict or stale, per hour.',
        'short',
        true,
      ).withTarget(
        query(
          `sum by (status) (increase(ratchet_proposal_transitions_total{${T}, status=~"merged|reverify|conflict|stale"}[1h]))`,
          '{{status}}',
        ),
      ),
    )
    .withPanel(
      stacked('Proposals by status', 'Proposals in each status now.', 'short').withTarget(
        query(`sum by (status) (ratchet_proposals{${T}})`, '{{status}}'),
      ),
    )
    .withPanel(
      new table.PanelBuilder()
        .title('Strategy leaderboard')
        .description('Gain in val_bpb per device-hour of training, per track, strategy and proposer.')
        .datasource(DATASOURCE)
        .height(8)
        .span(12)
        .targets(
          ['gain_per_gpu_hour', 'merged', 'proposals', 'gain', 'gpu_hours', 'invalid_rate'].map((what, i) =>
            query(
              `sum by (track, strategy, proposer) (ratchet_strategy{${T}, what="${what}"})`,
              what,
              String.fromCharCode(65 + i),
            )
              .instant()
              .format(prometheus.PromQueryFormat.Table),
          ),
        )
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation({
          id: 'organize',
          options: {
            excludeByName: { Time: true },
            renameByName: {
              'Value #A': 'gain / device-hour',
              'Value #B': 'merged',
              'Value #C': 'proposals',
              'Value #D': 'gain',
              'Value #E': 'device-hours',
              'Value #F': 'invalid LLM answers',
            },
          },
        }),
    );
}

export function fleetDashboard() {
  return base('ratchet-fleet', 'ratchet · fleet', 'Workers, queues, leases and the coordinator.')
    .withRow(new dashboard.RowBuilder('Health'))
    .withPanel(single('Coordinator up', 'Prometheus reaches /metrics.', 'bool', `min(up{job="${JOB}"})`))
    .withPanel(single('Redis up', 'The coordinator reaches Redis.', 'bool', 'min(ratchet_redis_up)'))
    .withPanel(
      single('Live workers', 'Workers seen within the live window.', 'short', 'sum(ratchet_workers)'),
    )
    .withPanel(single('Jobs waiting', 'Jobs in every queue.', 'short', 'sum(ratchet_queue_depth)'))
    .withRow(new dashboard.RowBuilder('Workers'))
    .withPanel(
      stacked(
        'Workers by class and state',
        'busy, idle and offline workers per hardware class.',
        'short',
      ).withTarget(
        query('sum by (hardware_class, state) (ratchet_workers_by_state)', '{{hardware_class}} · {{state}}'),
      ),
    )
    .withPanel(
      stacked(
        'Per-worker throughput',
        'Experiments finished per worker in the trailing hour.',
        'short',
      ).withTarget(query('sum by (worker) (increase(ratchet_worker_experiments_total[1h]))', '{{worker}}')),
    )
    .withRow(new dashboard.RowBuilder('Queues and leases'))
    .withPanel(
      series(
        'Queue depth',
        'Jobs waiting per queue (eval.<track> and eval.<track>.<class>).',
        'short',
      ).withTarget(
        query('sum by (queue) (ratchet_queue_depth{queue=~"eval[.]($track)([.].*)?"})', '{{queue}}'),
      ),
    )
    .withPanel(
      series('Queue wait', 'From queued to leased, by stage: median and 90th percentile.', 's')
        .withTarget(
          query(
            `histogram_quantile(0.5, sum by (le, stage) (rate(ratchet_queue_wait_seconds_bucket{${T}}[$__rate_interval])))`,
            'p50 {{stage}}',
          ),
        )
        .withTarget(
          query(
            `histogram_quantile(0.9, sum by (le, stage) (rate(ratchet_queue_wait_seconds_bucket{${T}}[$__rate_interval])))`,
            'p90 {{stage}}',
            'B',
          ),
        ),
    )
    .withPanel(
      series(
        'Lease expiries',
        'Leases lost by silent workers, and leases given, in the trailing hour.',
        'short',
      )
        .withTarget(query('sum(increase(ratchet_lease_expiries_total[1h]))', 'expired leases'))
        .withTarget(query('sum(increase(ratchet_leases_total[1h]))', 'leases given', 'B')),
    )
    .withPanel(
      series('Lease latency', 'How long a worker asking for work waits (long poll included).', 's')
        .withTarget(
          query(
            'histogram_quantile(0.5, sum by (le) (rate(ratchet_http_request_duration_seconds_bucket{route="trpc:workers.lease"}[$__rate_interval])))',
            'p50',
          ),
        )
        .withTarget(
          query(
            'histogram_quantile(0.9, sum by (le) (rate(ratchet_http_request_duration_seconds_bucket{route="trpc:workers.lease"}[$__rate_interval])))',
            'p90',
            'B',
          ),
        ),
    )
    .withRow(new dashboard.RowBuilder('Runs'))
    .withPanel(
      series('Run durations', 'Training wall time per hardware class: median and 90th percentile.', 's')
        .withTarget(
          query(
            `histogram_quantile(0.5, sum by (le, hardware_class) (rate(ratchet_run_duration_seconds_bucket{${T}}[$__rate_interval])))`,
            'p50 {{hardware_class}}',
          ),
        )
        .withTarget(
          query(
            `histogram_quantile(0.9, sum by (le, hardware_class) (rate(ratchet_run_duration_seconds_bucket{${T}}[$__rate_interval])))`,
            'p90 {{hardware_class}}',
            'B',
          ),
        ),
    )
    .withPanel(
      series(
        'Overhead per experiment',
        'Lease to report, minus training: checkout, prepare, reporting (median).',
        's',
      ).withTarget(
        query(
          `histogram_quantile(0.5, sum by (le, hardware_class) (rate(ratchet_experiment_overhead_seconds_bucket{${T}}[$__rate_interval])))`,
          '{{hardware_class}}',
        ),
      ),
    );
}

/** Every dashboard, by the file name it is provisioned from. */
export function dashboards(): Record<string, dashboard.Dashboard> {
  return {
    'ratchet-research.json': researchDashboard().build(),
    'ratchet-fleet.json': fleetDashboard().build(),
  };
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

/** Every panel's Prometheus query, as a dashboard JSON holds it. */
export function panelQueries(file: string, d: dashboard.Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row' || !('targets' in p)) continue;
    for (const t of (p.targets ?? []) as prometheus.Dataquery[]) {
      out.push({
        dashboard: file,
        panel: p.title ?? '',
        refId: t.refId ?? '',
        expr: t.expr,
        instant: t.instant === true,
      });
    }
  }
  return out;
}
