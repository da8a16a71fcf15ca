/** The frontier chart of one (track, class): uPlot, points per kind, the running best, merges. */
import uPlot from 'uplot';
import type { FrontierSeries } from '../../../shared/src/frontier-series.ts';
import { h } from './dom.ts';

const COLORS = {
  baseline: '#6ea8fe',
  kept: '#3ddc84',
  discarded: '#8a8f98',
  best: '#3ddc84',
  merge: '#f5c451',
};

/** uPlot's aligned columns: x (s), baseline, kept, discarded, running best. */
export function chartData(s: FrontierSeries): uPlot.AlignedData {
  const x: number[] = [];
  const cols: (number | null)[][] = [[], [], [], []];
  s.points.forEach((p, i) => {
    x.push(p.at / 1000);
    cols[0]!.push(p.kind === 'baseline' ? p.valBpb : null);
    cols[1]!.push(p.kind === 'kept' ? p.valBpb : null);
    cols[2]!.push(p.kind === 'discarded' ? p.valBpb : null);
    const b = s.best[i]!;
    cols[3]!.push(Number.isFinite(b) ? b : null);
  });
  return [x, ...cols] as uPlot.AlignedData;
}

const dots = (stroke: string, size: number): uPlot.Series => ({
  stroke,
  fill: stroke,
  paths: () => null,
  points: { show: true, size, stroke, fill: stroke },
});

function mergeLines(getMerges: () => FrontierSeries['merges']): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = COLORS.merge;
        ctx.fillStyle = COLORS.merge;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = devicePixelRatio;
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        for (const m of getMerges()) {
          const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillText(m.commit.slice(0, 7), x + 3 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

export interface FrontierChart {
  el: HTMLElement;
  update(s: FrontierSeries): void;
  resize(): void;
}

export function frontierChart(initial: FrontierSeries): FrontierChart {
  let series = initial;
  const plotEl = h('div', { class: 'plot' });
  const caption = h('div', { class: 'caption' });
  const el = h(
    'figure',
    { class: 'chart', 'data-track': initial.track, 'data-class': initial.hardwareClass },
    h(
      'figcaption',
      null,
      h('strong', null, initial.track),
      ' · ',
      h('span', { class: 'mono' }, initial.hardwareClass),
    ),
    plotEl,
    caption,
  );
  const width = () => Math.max(280, (el.parentElement?.clientWidth ?? 600) - 2);
  const u = new uPlot(
    {
      width: width(),
      height: 260,
      scales: { x: { time: true } },
      legend: { live: false },
      cursor: { points: { show: false } },
      axes: [
        { stroke: '#aab', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' } },
        {
          stroke: '#aab',
          grid: { stroke: '#2a2f3a' },
          ticks: { stroke: '#2a2f3a' },
          size: 64,
          values: (_u, vals) => vals.map((v) => v.toFixed(4)),
        },
      ],
      series: [
        {},
        { label: 'baseline', ...dots(COLORS.baseline, 5) },
        { label: 'kept', ...dots(COLORS.kept, 8) },
        { label: 'discarded', ...dots(COLORS.discarded, 5) },
        {
          label: 'running best',
          stroke: COLORS.best,
          width: 2,
          paths: uPlot.paths.stepped!({ align: 1 }),
          points: { show: false },
        },
      ],
      plugins: [mergeLines(() => series.merges)],
    },
    chartData(initial),
    plotEl,
  );
  const setCaption = (s: FrontierSeries) => {
    const best = s.best.length > 0 ? s.best[s.best.length - 1]! : Number.POSITIVE_INFINITY;
    const kept = s.points.filter((p) => p.kind === 'kept').length;
    caption.textContent =
      `${s.points.length} measured · ${kept} kept · ${s.merges.length} merged` +
      (Number.isFinite(best) ? ` · best ${best.toFixed(6)}` : '');
    el.dataset.points = String(s.points.length);
    el.dataset.kept = String(kept);
    el.dataset.merges = String(s.merges.length);
  };
  setCaption(initial);
  return {
    el,
    update(s) {
      series = s;
      u.setData(chartData(s));
      setCaption(s);
    },
    resize() {
      u.setSize({ width: width(), height: 260 });
    },
  };
}
