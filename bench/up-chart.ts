/** The trajectory of a `ratchet up` run as an SVG picture, written without any plotting library. */

export interface ChartPoint {
  /** Minutes since start. */
  t: number;
  valBpb: number;
  kind: 'baseline' | 'candidate' | 'kept';
}

export interface Chart {
  title: string;
  points: ChartPoint[];
  /** The frontier's baseline mean over time: a step line. */
  frontier: { t: number; valBpb: number }[];
  /** Fresh re-runs of the starting and the final commit, drawn at the start and the end. */
  fresh: { t: number; valBpb: number; label: string }[];
  minutes: number;
}

const W = 900;
const H = 500;
const M = { left: 70, right: 20, top: 40, bottom: 50 };
const COLOURS = { baseline: '#888888', candidate: '#7aa6d6', kept: '#1a9850' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chartSvg(c: Chart): string {
  const ys = [
    ...c.points.map((p) => p.valBpb),
    ...c.frontier.map((f) => f.valBpb),
    ...c.fresh.map((f) => f.valBpb),
  ];
  // Candidates far worse than the frontier would squash the picture: clip at the frontier's range.
  const top = ys.length ? Math.max(...c.frontier.map((f) => f.valBpb), ...c.fresh.map((f) => f.valBpb)) : 1;
  const lo = ys.length ? Math.min(...ys) : 0;
  const hi = Math.max(top + 0.25 * Math.max(0.01, top - lo), lo + 0.01);
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const x = (t: number) => r1(M.left + (t / Math.max(c.minutes, 1e-9)) * (W - M.left - M.right));
  const y = (v: number) => r1(M.top + ((hi - Math.min(v, hi)) / (hi - lo)) * (H - M.top - M.bottom));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(c.title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">minutes</text>`,
    `<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">val_bpb</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = lo + ((hi - lo) * i) / 5;
    const t = (c.minutes * i) / 5;
    out.push(
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`,
      `<line x1="${M.left}" y1="${y(v)}" x2="${W - M.right}" y2="${y(v)}" stroke="#eeeeee"/>`,
      `<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${t.toFixed(1)}</text>`,
    );
  }
  if (c.frontier.length > 0) {
    const pts: string[] = [];
    c.frontier.forEach((f, i) => {
      if (i > 0) pts.push(`${x(f.t)},${y(c.frontier[i - 1]!.valBpb)}`);
      pts.push(`${x(f.t)},${y(f.valBpb)}`);
    });
    pts.push(`${x(c.minutes)},${y(c.frontier[c.frontier.length - 1]!.valBpb)}`);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#d73027" stroke-width="2"/>`);
  }
  for (const p of c.points) {
    out.push(
      `<circle cx="${x(p.t)}" cy="${y(p.valBpb)}" r="${p.kind === 'kept' ? 5 : 3}" fill="${COLOURS[p.kind]}"${p.valBpb > hi ? ' opacity="0.4"' : ''}/>`,
    );
  }
  for (const f of c.fresh) {
    out.push(
      `<path d="M ${x(f.t) - 5} ${y(f.valBpb)} h 10 M ${x(f.t)} ${y(f.valBpb) - 5} v 10" stroke="black" stroke-width="2"/>`,
    );
  }
  const legend: [string, string][] = [
    ['baseline run', COLOURS.baseline],
    ['candidate run', COLOURS.candidate],
    ['kept (merged) run', COLOURS.kept],
    ['frontier baseline mean', '#d73027'],
    ['fresh re-run of start / final commit (+)', 'black'],
  ];
  legend.forEach(([label, colour], i) => {
    const ly = M.top + 10 + i * 16;
    out.push(
      `<rect x="${W - M.right - 250}" y="${ly - 9}" width="10" height="10" fill="${colour}"/>`,
      `<text x="${W - M.right - 234}" y="${ly}">${esc(label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
