/** The small sections: workers, queue and merge train, strategy leaderboard. */
import type { DashLeaderRow, DashQueue, DashWorker } from '../../../shared/src/dashboard.ts';
import type { PortabilityMatrix } from '../../../shared/src/portability.ts';
import { progressFields } from '../../../shared/src/progress-line.ts';
import { ago, h, table } from './dom.ts';

function progressCell(w: DashWorker): Node {
  if (w.state !== 'running' || !w.progress)
    return h('span', { class: 'dim' }, w.state === 'preparing' ? 'starting…' : '');
  const f = progressFields(w.progress.line);
  const pct = w.progress.percent ?? f.percent ?? 0;
  return h(
    'div',
    { class: 'progress', title: w.progress.line },
    h('div', { class: 'bar' }, h('div', { class: 'fill', style: `width:${pct.toFixed(1)}%` })),
    h(
      'span',
      { class: 'mono small' },
      `${pct.toFixed(1)}%`,
      f.step !== null ? ` · step ${f.step}` : '',
      f.loss !== null ? ` · loss ${f.loss.toFixed(4)}` : '',
      f.remainingS !== null ? ` · ${f.remainingS}s left` : '',
    ),
  );
}

export function workersView(workers: DashWorker[]): HTMLElement {
  if (workers.length === 0) return h('p', { class: 'dim' }, 'No worker has registered yet.');
  return table(
    ['worker', 'class', 'state', 'progress', 'current job', 'done', 'trust', 'seen'],
    workers.map((w) =>
      h(
        'tr',
        { 'data-worker': w.id, class: `state-${w.state}` },
        h('td', { 'data-label': 'worker' }, w.name),
        h('td', { 'data-label': 'class', class: 'mono small' }, w.hardwareClass),
        h('td', { 'data-label': 'state' }, h('span', { class: `pill ${w.state}` }, w.state)),
        h('td', { 'data-label': 'progress' }, progressCell(w)),
        h('td', { 'data-label': 'job', class: 'small' }, w.jobLabel ?? ''),
        h('td', { 'data-label': 'done', class: 'num' }, w.done),
        h(
          'td',
          { 'data-label': 'trust', class: 'num' },
          w.trusted ? `trusted (${w.trust})` : String(w.trust),
        ),
        h('td', { 'data-label': 'seen', class: 'small dim' }, ago(w.lastSeenAt)),
      ),
    ),
    'workers cards',
  );
}

export function queueView(q: DashQueue): HTMLElement {
  const depths = Object.entries(q.depths).sort((a, b) => a[0].localeCompare(b[0]));
  const total = depths.reduce((a, [, n]) => a + n, 0);
  return h(
    'div',
    null,
    h('p', null, h('strong', { id: 'queue-total' }, String(total)), ' waiting'),
    depths.length === 0
      ? null
      : table(
          ['queue', 'waiting'],
          depths.map(([name, n]) =>
            h('tr', null, h('td', { class: 'mono small' }, name), h('td', { class: 'num' }, n)),
          ),
        ),
    h('h3', null, 'Runs next'),
    q.next.length === 0
      ? h('p', { class: 'dim' }, 'Nothing queued.')
      : h(
          'ol',
          { class: 'next' },
          q.next.map((n) => h('li', null, n.label, ' ', h('span', { class: 'mono small dim' }, n.queue))),
        ),
    h('h3', null, 'Batches in flight'),
    q.batches.length === 0
      ? h('p', { class: 'dim' }, 'None.')
      : h(
          'ul',
          null,
          q.batches.map((b) =>
            h(
              'li',
              null,
              `${b.track} · ${b.hardwareClass ?? 'any class'} · ${b.status} · ${b.members.length} winners`,
            ),
          ),
        ),
  );
}

export function leaderboardView(rows: DashLeaderRow[]): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'dim' }, 'No proposals yet.');
  return table(
    [
      'track',
      'strategy / proposer',
      'proposed',
      'evaluated',
      'confirmed',
      'merged',
      'gain',
      'device-h',
      'gain/h',
    ],
    rows.map((r) => {
      const gain = Object.values(r.gainByClass).reduce((a, b) => a + b, 0);
      return h(
        'tr',
        null,
        h('td', null, r.track),
        h('td', null, r.strategy, h('span', { class: 'dim' }, ` / ${r.proposer}`)),
        h('td', { class: 'num' }, r.proposals),
        h('td', { class: 'num' }, r.evaluated),
        h('td', { class: 'num' }, r.confirmed),
        h('td', { class: 'num' }, r.merged),
        h('td', { class: 'num mono' }, gain.toFixed(6)),
        h('td', { class: 'num' }, r.gpuHours.toFixed(3)),
        h('td', { class: 'num mono' }, r.gainPerGpuHour.toFixed(4)),
      );
    }),
  );
}

/** Per merged commit, whether its gain held on each class that runs the track. */
export function portabilityView(ms: PortabilityMatrix[]): HTMLElement {
  if (ms.length === 0) return h('p', { class: 'dim' }, 'No merged gain yet.');
  return h(
    'div',
    null,
    ms.map((m) =>
      h(
        'div',
        { 'data-track': m.track },
        h('h3', null, m.track),
        table(
          ['commit', 'description', ...m.classes],
          m.rows.map((r) =>
            h(
              'tr',
              null,
              h('td', { class: 'mono small' }, r.commit.slice(0, 7)),
              h('td', { class: 'small' }, r.description),
              m.classes.map((k) => {
                const c = r.cells.find((x) => x.hardwareClass === k);
                if (!c || c.state === 'not_measured')
                  return h('td', { class: 'small dim' }, c?.queued ? 'queued' : 'not measured');
                const d = c.delta === null ? '' : `${c.delta >= 0 ? '+' : ''}${c.delta.toFixed(6)}`;
                return h(
                  'td',
                  {
                    class: `small mono ${c.state === 'held' ? 'good' : 'refused'}`,
                    title: `n ${c.n}, m ${c.m}`,
                  },
                  `${d} ${c.state}${c.significant ? '' : ' ~'}${c.origin ? ' *' : ''}`,
                );
              }),
            ),
          ),
        ),
      ),
    ),
    h('p', { class: 'dim small' }, '* the class it was merged on · ~ within the noise'),
  );
}
