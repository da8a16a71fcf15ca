/** The dashboard page: token once, one event stream, sections re-drawn when their data changes. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { DashExperimentDetail, DashMessage, DashSnapshot } from '../../../shared/src/dashboard.ts';
import { applyDashMessage } from '../../../shared/src/dashboard-apply.ts';
import { frontierClasses, frontierSeries } from '../../../shared/src/frontier-series.ts';
import { type FrontierChart, frontierChart } from './chart.ts';
import { ago, h, replace } from './dom.ts';
import { experimentsView, type Filters, filtersView, showDetail } from './experiments.ts';
import { connect, fetchJson } from './stream.ts';
import { askToken, forgetToken, initialToken } from './token.ts';
import { leaderboardView, portabilityView, queueView, workersView } from './views.ts';

const $ = (id: string) => document.getElementById(id)!;
type Part = 'tracks' | 'workers' | 'queue' | 'leaderboard' | 'portability' | 'experiments';

let snap: DashSnapshot | null = null;
let token = '';
let filters: Filters = { track: '', verdict: '', proposer: '' };
let selected: string | null = null;
let track: string | null = null;
const charts = new Map<string, FrontierChart>();
const dirty = new Set<Part>();
let renderPending = false;
const stats = { messages: 0, lastMessageAt: 0, bytes: 0 };

/** For tests and curious people: what the page holds and draws. */
(window as unknown as Record<string, unknown>).ratchetDashboard = {
  get snapshot() {
    return snap;
  },
  stats,
  chartSeries: () =>
    [...charts.keys()].map((k) => {
      const [t, c] = k.split('\n') as [string, string];
      return frontierSeries(snap?.experiments ?? [], t, c);
    }),
};

function renderCharts() {
  const rows = snap?.experiments ?? [];
  const tracks = snap?.tracks.map((t) => t.id) ?? [];
  if (!track || !tracks.includes(track))
    track = tracks.find((t) => frontierClasses(rows, t).length > 0) ?? tracks[0] ?? null;
  replace(
    $('track-tabs'),
    tracks.map((t) =>
      h(
        'button',
        {
          class: t === track ? 'tab active' : 'tab',
          'data-track': t,
          onclick: () => {
            track = t;
            renderCharts();
          },
        },
        t,
      ),
    ),
  );
  const box = $('charts');
  const classes = track ? frontierClasses(rows, track) : [];
  const keys = new Set(classes.map((c) => `${track}\n${c}`));
  for (const [k, c] of charts) {
    if (!keys.has(k)) {
      c.el.remove();
      charts.delete(k);
    }
  }
  for (const cls of classes) {
    const k = `${track}\n${cls}`;
    const s = frontierSeries(rows, track!, cls);
    const c = charts.get(k);
    if (c) c.update(s);
    else {
      const nc = frontierChart(s);
      charts.set(k, nc);
      box.append(nc.el);
      nc.resize();
    }
  }
  box.querySelector('.empty')?.remove();
  if (classes.length === 0)
    box.append(h('p', { class: 'dim empty' }, 'No measured results on this track yet.'));
}

async function pick(id: string) {
  selected = id;
  dirty.add('experiments');
  schedule();
  const el = $('detail');
  try {
    const d = await fetchJson<DashExperimentDetail>(
      `/api/dashboard/experiments/${encodeURIComponent(id)}`,
      token,
    );
    if (selected === id) {
      showDetail(el, d, () => {
        selected = null;
        el.hidden = true;
        dirty.add('experiments');
        schedule();
      });
    }
  } catch (e) {
    replace(el, h('p', { class: 'refused' }, String(e)));
    el.hidden = false;
  }
}

function render() {
  renderPending = false;
  if (!snap) return;
  if (dirty.has('experiments') || dirty.has('tracks')) renderCharts();
  if (dirty.has('workers')) replace($('workers'), workersView(snap.workers));
  if (dirty.has('queue')) replace($('queue'), queueView(snap.queue));
  if (dirty.has('leaderboard')) replace($('leaderboard'), leaderboardView(snap.leaderboard));
  if (dirty.has('portability')) replace($('portability'), portabilityView(snap.portability ?? []));
  if (dirty.has('experiments')) {
    const onFilters = (f: Filters) => {
      filters = f;
      dirty.add('experiments');
      render();
    };
    replace($('filters'), filtersView(snap.experiments, filters, onFilters));
    replace(
      $('experiments'),
      experimentsView(snap.experiments, filters, selected, (id) => void pick(id)),
    );
  }
  dirty.clear();
}

function schedule() {
  if (renderPending) return;
  renderPending = true;
  window.setTimeout(render, 30);
}

function onMessage(m: DashMessage) {
  stats.messages++;
  stats.lastMessageAt = Date.now();
  snap = applyDashMessage(snap, m);
  if (m.type === 'snapshot')
    for (const p of ['tracks', 'workers', 'queue', 'leaderboard', 'portability', 'experiments'] as const)
      dirty.add(p);
  else {
    for (const p of ['tracks', 'workers', 'queue', 'leaderboard', 'portability', 'experiments'] as const)
      if (m[p]) dirty.add(p);
    // The open experiment changed (a verdict arrived): fetch it again.
    if (selected && m.experiments?.some((e) => e.id === selected)) void pick(selected);
  }
  schedule();
}

function setConn(state: string) {
  const el = $('conn');
  el.className = `conn ${state}`;
  el.textContent = state === 'live' ? 'live' : state === 'down' ? 'reconnecting…' : state;
}

async function start(problem: string | null) {
  token = (problem ? null : initialToken()) ?? (await askToken($('app'), problem));
  const stop = connect(token, {
    onMessage,
    onState: setConn,
    onRefused: (why) => {
      stop();
      forgetToken();
      setConn('refused');
      void start(why);
    },
  });
}

setInterval(() => {
  if (stats.lastMessageAt)
    $('updated').textContent = `last change ${ago(Math.max(stats.lastMessageAt, snap?.at ?? 0))}`;
}, 1000);
window.addEventListener('resize', () => {
  for (const c of charts.values()) c.resize();
});
void start(null);
