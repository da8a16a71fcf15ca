/** The experiments table: filters by track, verdict and proposer; a row opens its diff, reason and log. */
import type { DashExperiment, DashExperimentDetail } from '../../../shared/src/dashboard.ts';
import { bpb, clock, delta, h, replace, table } from './dom.ts';

const SHOWN = 200;

export interface Filters {
  track: string;
  verdict: string;
  proposer: string;
}

/** The verdict in words, and the colour class it wears. */
export function verdictLabel(r: Pick<DashExperiment, 'verdict' | 'status'>): { text: string; cls: string } {
  if (r.status === 'queued' || r.status === 'running') return { text: r.status, cls: 'flight' };
  if (r.status === 'cancelled') return { text: 'cancelled', cls: 'dim' };
  switch (r.verdict) {
    case 'keep':
      return { text: 'kept', cls: 'kept' };
    case 'baseline':
      return { text: 'baseline', cls: 'baseline' };
    case 'discard':
      return { text: 'discarded', cls: 'discarded' };
    case 'crash':
    case null:
      return { text: r.status === 'ok' ? 'recorded' : 'crashed', cls: 'bad' };
    case 'pending':
    case 'promising':
      return { text: r.verdict, cls: 'flight' };
    default:
      return { text: r.verdict, cls: 'bad' };
  }
}

export function matches(r: DashExperiment, f: Filters): boolean {
  if (f.track && r.track !== f.track) return false;
  if (f.verdict && verdictLabel(r).text !== f.verdict) return false;
  if (f.proposer && (r.proposer ?? '') !== f.proposer) return false;
  return true;
}

function select(name: string, label: string, values: string[], cur: string, onChange: (v: string) => void) {
  const s = h(
    'select',
    { name, 'aria-label': label, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) },
    h('option', { value: '' }, `all ${label}s`),
    values.map((v) => h('option', { value: v, selected: v === cur }, v)),
  );
  return h('label', null, s);
}

export function filtersView(rows: DashExperiment[], f: Filters, onChange: (f: Filters) => void): HTMLElement {
  const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();
  return h(
    'div',
    { class: 'filters' },
    select('track', 'track', uniq(rows.map((r) => r.track)), f.track, (track) => onChange({ ...f, track })),
    select('verdict', 'verdict', uniq(rows.map((r) => verdictLabel(r).text)), f.verdict, (verdict) =>
      onChange({ ...f, verdict }),
    ),
    select('proposer', 'proposer', uniq(rows.map((r) => r.proposer)), f.proposer, (proposer) =>
      onChange({ ...f, proposer }),
    ),
  );
}

export function experimentsView(
  rows: DashExperiment[],
  f: Filters,
  selected: string | null,
  onPick: (id: string) => void,
): HTMLElement {
  // In flight first, then the latest results.
  const key = (r: DashExperiment) =>
    r.recordedAt === null ? Number.MAX_SAFE_INTEGER - 1e13 + r.createdAt : r.recordedAt;
  const shown = rows.filter((r) => matches(r, f)).sort((a, b) => key(b) - key(a));
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'dim small', id: 'exp-count' },
      `${Math.min(shown.length, SHOWN)} of ${shown.length} shown, newest first`,
    ),
    table(
      ['time', 'proposal', 'proposer / strategy', 'class', 'worker', 'val_bpb', 'Δ', 'stage', 'verdict'],
      shown.slice(0, SHOWN).map((r) => {
        const v = verdictLabel(r);
        return h(
          'tr',
          {
            'data-exp': r.id,
            'data-verdict': v.text,
            class: `clickable${selected === r.id ? ' selected' : ''}`,
            onclick: () => onPick(r.id),
          },
          h('td', { 'data-label': 'time', class: 'small mono' }, clock(r.recordedAt ?? r.createdAt)),
          h(
            'td',
            { 'data-label': 'proposal', class: 'desc' },
            r.description,
            r.mergedCommit
              ? h('span', { class: 'pill merged' }, `merged ${r.mergedCommit.slice(0, 7)}`)
              : null,
          ),
          h(
            'td',
            { 'data-label': 'proposer', class: 'small' },
            r.proposer ?? '',
            r.strategy ? h('span', { class: 'dim' }, ` / ${r.strategy}`) : null,
          ),
          h('td', { 'data-label': 'class', class: 'small mono' }, r.hardwareClass ?? ''),
          h('td', { 'data-label': 'worker', class: 'small' }, r.workerName ?? ''),
          h('td', { 'data-label': 'val_bpb', class: 'num mono' }, bpb(r.valBpb)),
          h(
            'td',
            { 'data-label': 'Δ', class: `num mono ${r.delta !== null && r.delta < 0 ? 'good' : ''}` },
            delta(r.delta),
          ),
          h('td', { 'data-label': 'stage', class: 'small' }, r.batch ? 'batch' : r.stage),
          h(
            'td',
            { 'data-label': 'verdict', class: 'verdict' },
            h('span', { class: `pill ${v.cls}` }, v.text),
            r.reason ? h('div', { class: 'reason small' }, r.reason) : null,
          ),
        );
      }),
      'experiments cards',
    ),
  );
}

function diffView(patch: string): HTMLElement {
  return h(
    'pre',
    { class: 'diff', id: 'detail-diff' },
    patch.split('\n').map((l) => {
      const cls =
        l.startsWith('+++') || l.startsWith('---')
          ? 'file'
          : l.startsWith('+')
            ? 'add'
            : l.startsWith('-')
              ? 'del'
              : l.startsWith('@@')
                ? 'hunk'
                : '';
      return h('span', { class: cls }, `${l}\n`);
    }),
  );
}

export function detailView(d: DashExperimentDetail, close: () => void): HTMLElement[] {
  const r = d.row;
  const v = verdictLabel(r);
  const num = (k: string, val: string) => h('div', null, h('dt', null, k), h('dd', { class: 'mono' }, val));
  const dec = d.decision;
  return [
    h('button', { class: 'close', onclick: close, 'aria-label': 'close' }, '×'),
    h('h3', null, r.description),
    h(
      'p',
      null,
      h('span', { class: `pill ${v.cls}` }, v.text),
      ' ',
      h('span', { id: 'detail-reason' }, r.reason ?? 'no verdict yet'),
    ),
    h(
      'dl',
      { class: 'numbers' },
      num('val_bpb', bpb(r.valBpb)),
      num('baseline', bpb(r.baselineBpb)),
      num('Δ', delta(r.delta)),
      num('stage', r.batch ? 'batch' : r.stage),
      num('class', r.hardwareClass ?? '—'),
      num('worker', r.workerName ?? '—'),
      dec ? num('runs (cand./base.)', `${dec.n} / ${dec.m}`) : null,
      dec?.sigma != null ? num('σ', dec.sigma.toFixed(6)) : null,
      dec?.t != null ? num('t (critical)', `${dec.t.toFixed(2)} (${dec.tCrit?.toFixed(2) ?? '—'})`) : null,
    ),
    d.conflict
      ? h('div', null, h('h4', null, 'Conflicting hunk'), h('pre', { class: 'diff' }, d.conflict))
      : null,
    h('h4', null, 'Diff'),
    d.patch
      ? diffView(d.patch)
      : h('p', { class: 'dim' }, r.kind === 'baseline' ? 'A baseline runs the head unchanged.' : 'No patch.'),
    h('h4', null, 'Log tail'),
    h('pre', { class: 'log', id: 'detail-log' }, d.logTail || '(no log yet)'),
  ].filter((x): x is HTMLElement => x !== null);
}

export function showDetail(el: HTMLElement, d: DashExperimentDetail, close: () => void) {
  replace(el, ...detailView(d, close));
  el.hidden = false;
  el.dataset.exp = d.row.id;
}
