/** `ratchet plot --track T [--class C] -o progress.png|.svg`: upstream's picture of a track's research. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCodes, frontierClasses, frontierSeries, RatchetError } from '@ratchet/shared';
import { parse, required } from '../args.ts';
import { coordinatorUrl, remoteOptions, resolveToken } from '../remote.ts';
import { fetchSnapshot } from '../status/status.ts';
import { svgToPng } from './png.ts';
import { PLOT_HEIGHT, PLOT_WIDTH, progressSvg } from './svg.ts';

export async function plotCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    track: { type: 'string' },
    class: { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  const track = required(values.track, '--track T');
  const out = resolve(values.output ?? 'progress.png');
  if (!/\.(png|svg)$/i.test(out))
    throw new RatchetError(ErrorCodes.BAD_INPUT, '-o must name a .png or .svg file');
  const snap = await fetchSnapshot(coordinatorUrl(values.coordinator), resolveToken(values.token));
  if (!snap.tracks.some((t) => t.id === track)) {
    throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `unknown track ${track}`);
  }
  const classes = frontierClasses(snap.experiments, track);
  const cls = values.class ?? classes[0];
  if (!cls || !classes.includes(cls)) {
    throw new RatchetError(
      ErrorCodes.BAD_INPUT,
      classes.length === 0
        ? `track ${track} has no measured results yet`
        : `no results of class ${cls} on ${track}; classes: ${classes.join(', ')}`,
    );
  }
  const series = frontierSeries(snap.experiments, track, cls);
  const svg = progressSvg(series);
  await writeFile(out, /\.svg$/i.test(out) ? svg : await svgToPng(svg, PLOT_WIDTH, PLOT_HEIGHT));
  const kept = series.points.filter((p) => p.kind === 'kept').length;
  process.stdout.write(`${out}: ${series.points.length} experiments of ${track} on ${cls}, ${kept} kept\n`);
  return 0;
}
