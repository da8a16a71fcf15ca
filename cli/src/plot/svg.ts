/**
 * Upstream's progress.png as SVG: every experiment of a (track, class) by its number, the
 * discarded ones grey, the kept ones green and labelled, baselines blue, the running best
 * as a green step line. Pure: `png.ts` rasterises it.
 */
import type { FrontierSeries } from '@ratchet/shared';

export const PLOT_WIDTH = 1600;
export const PLOT_HEIGHT = 800;
const M = { left: 100, right: 40, top: 84, bottom: 80 };

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

export function progressSvg(s: FrontierSeries): string {
  const W = PLOT_WIDTH;
  const H = PLOT_HEIGHT;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const n = s.points.length;
  const ys = s.points.map((p) => p.valBpb);
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (n === 0) [lo, hi] = [0, 1];
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.001, hi + 0.001];
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  // Half a step of room at each end, so the first and last points are not cut by the frame.
  const x = (i: number) => M.left + ((i + 0.5) / Math.max(1, n)) * pw;
  const y = (v: number) => M.top + ((hi - v) / (hi - lo)) * ph;
  const kept = s.points.filter((p) => p.kind === 'kept').length;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="38" text-anchor="middle" font-size="22">${esc(
      `${s.track} on ${s.hardwareClass}: ${n} Experiments, ${kept} Kept Improvements`,
    )}</text>`,
  );
  for (const v of niceTicks(lo, hi)) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 10}" y="${(y(v) + 5).toFixed(1)}" text-anchor="end" font-size="14">${v.toFixed(4)}</text>`,
    );
  }
  for (const v of niceTicks(0, Math.max(1, n - 1)).filter((v) => Number.isInteger(v))) {
    parts.push(
      `<text x="${x(v).toFixed(1)}" y="${H - M.bottom + 24}" text-anchor="middle" font-size="14">${v}</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 24}" text-anchor="middle" font-size="16">Experiment #</text>`,
    `<text transform="translate(28 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="16">Validation BPB (lower is better)</text>`,
  );
  // The running best, as a step line.
  let d = '';
  let prev = Number.NaN;
  s.best.forEach((b, i) => {
    if (!Number.isFinite(b) || b === prev) return;
    d += d === '' ? `M${x(i).toFixed(1)} ${y(b).toFixed(1)}` : `H${x(i).toFixed(1)}V${y(b).toFixed(1)}`;
    prev = b;
  });
  if (d)
    parts.push(
      `<path class="best" d="${d}H${(W - M.right).toFixed(1)}" fill="none" stroke="#2ca02c" stroke-width="2"/>`,
    );
  s.points.forEach((p, i) => {
    const [r, fill, stroke] =
      p.kind === 'kept'
        ? [6, '#2ca02c', '#000']
        : p.kind === 'baseline'
          ? [4, '#1f77b4', 'none']
          : [3.5, '#bbbbbb', 'none'];
    parts.push(
      `<circle class="${p.kind}" cx="${x(i).toFixed(1)}" cy="${y(p.valBpb).toFixed(1)}" r="${r}" fill="${fill}" stroke="${stroke}"/>`,
    );
    if (p.kind === 'kept') {
      const tx = x(i) + 8;
      const ty = y(p.valBpb) - 8;
      parts.push(
        `<text transform="translate(${tx.toFixed(1)} ${ty.toFixed(1)}) rotate(-30)" font-size="12" fill="#1a6b1a">${esc(p.description.slice(0, 60))}</text>`,
      );
    }
  });
  // The legend sits in one row between the title and the frame, never over the data.
  const legend: [string, string][] = [
    ['Discarded', '<circle cx="0" cy="-5" r="3.5" fill="#bbbbbb"/>'],
    ['Baseline', '<circle cx="0" cy="-5" r="4" fill="#1f77b4"/>'],
    ['Kept', '<circle cx="0" cy="-5" r="6" fill="#2ca02c" stroke="#000"/>'],
    ['Running best', '<line x1="-10" x2="10" y1="-5" y2="-5" stroke="#2ca02c" stroke-width="2"/>'],
  ];
  legend.forEach(([label, mark], i) => {
    const lx = W - M.right - 560 + i * 140;
    parts.push(
      `<g transform="translate(${lx} ${M.top - 14})">${mark}<text x="16" y="0" font-size="14">${label}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
