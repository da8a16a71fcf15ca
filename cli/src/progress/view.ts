/**
 * The terminal's view of running experiments: on a terminal, one live cli-progress bar per
 * running job (step, %, loss, time left) with other output printed above the bars; when
 * the output is a pipe or a file, plain lines instead (one when a job starts, then at most
 * one per `plainEveryMs`).
 */
import { progressFields } from '@ratchet/shared';
import type { JobEvent } from '@ratchet/worker';
import cliProgress from 'cli-progress';

export interface ProgressViewOptions {
  stream?: NodeJS.WriteStream;
  /** Defaults to the stream's own isTTY. */
  tty?: boolean;
  plainEveryMs?: number;
  clock?: () => number;
}

export interface ProgressView {
  /** A job event of the worker called `name`. */
  onJob(name: string, e: JobEvent): void;
  /** A line of other output. */
  log(line: string): void;
  stop(): void;
}

function what(e: JobEvent): string {
  const l = e.lease;
  return `${l.kind} ${l.kind === 'baseline' ? l.baseCommit.slice(0, 7) : l.experimentId} on ${l.track.id}`;
}

function payload(name: string, e: Extract<JobEvent, { type: 'progress' }> | null, label: string) {
  const f = e ? progressFields(e.progress.line) : null;
  return {
    name,
    what: label,
    step: f?.step ?? '-',
    loss: f?.loss === null || f?.loss === undefined ? '-' : f.loss.toFixed(4),
    remaining: f?.remainingS === null || f?.remainingS === undefined ? '-' : `${f.remainingS}s`,
  };
}

export function createProgressView(o: ProgressViewOptions = {}): ProgressView {
  const stream = o.stream ?? process.stdout;
  const tty = o.tty ?? stream.isTTY === true;
  const now = o.clock ?? Date.now;
  const plainEveryMs = o.plainEveryMs ?? 15_000;

  if (!tty) {
    const lastAt = new Map<string, number>();
    const write = (s: string) => stream.write(`${s}\n`);
    return {
      onJob(name, e) {
        if (e.type === 'start') {
          lastAt.set(name, now());
          write(`  ${name}: running ${what(e)}`);
        } else if (e.type === 'progress') {
          if (now() - (lastAt.get(name) ?? 0) < plainEveryMs) return;
          lastAt.set(name, now());
          const p = payload(name, e, '');
          const pct = e.progress.percent === null ? '' : ` (${e.progress.percent.toFixed(1)}%)`;
          write(`  ${name}: step ${p.step}${pct} | loss ${p.loss} | ${p.remaining} left`);
        } else lastAt.delete(name);
      },
      log: write,
      stop() {},
    };
  }

  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: '  {name} {what} [{bar}] {percentage}% | step {step} | loss {loss} | {remaining} left',
      barsize: 20,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      autopadding: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; label: string }>();
  // Once the first bar is drawn, the multibar redraws its area: other output must go
  // through it (it prints buffered lines above the bars on its next redraw).
  let drawing = false;
  /** Print what is still buffered, clear the bars, and write straight to the stream again. */
  const finish = () => {
    if (!drawing) return;
    multi.update();
    multi.stop();
    drawing = false;
  };
  return {
    onJob(name, e) {
      const cur = bars.get(name);
      if (e.type === 'start') {
        if (cur) multi.remove(cur.bar);
        const label = what(e);
        bars.set(name, { bar: multi.create(100, 0, payload(name, null, label)), label });
        drawing = true;
      } else if (e.type === 'progress' && cur) {
        cur.bar.update(e.progress.percent ?? 0, payload(name, e, cur.label));
        // Draw now (progress comes at most twice a second), not at the next frame: a short
        // run may end before it.
        multi.update();
      } else if (e.type === 'end' && cur) {
        multi.remove(cur.bar);
        bars.delete(name);
        if (bars.size === 0) finish();
      }
    },
    log(line) {
      if (drawing) multi.log(`${line}\n`);
      else stream.write(`${line}\n`);
    },
    stop() {
      finish();
    },
  };
}
