import { Writable } from 'node:stream';
import type { Lease } from '@ratchet/shared';
import type { JobEvent } from '@ratchet/worker';
import { describe, expect, it } from 'vitest';
import { createProgressView } from './view.ts';

function sink(tty: boolean) {
  let out = '';
  const s = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  s.isTTY = tty;
  s.columns = 140;
  return { stream: s, out: () => out };
}

const lease = {
  experimentId: 'exp_0123456789',
  kind: 'baseline',
  baseCommit: 'a'.repeat(40),
  track: { id: 'tiny' },
} as unknown as Lease;
const progress = (line: string): JobEvent => ({
  type: 'progress',
  lease,
  progress: { step: 42, percent: 14, line },
});
const LINE = 'step 00042 (14.0%) | loss: 3.456789 | lr: 1e-3 | remaining: 258s';

describe('the progress view', () => {
  it('draws a live bar with step, percent, loss and time left on a terminal, with other lines above it', async () => {
    const { stream, out } = sink(true);
    const v = createProgressView({ stream });
    v.onJob('local-cpu', { type: 'start', lease });
    v.onJob('local-cpu', progress(LINE));
    v.log('[12:00:00] an earlier result');
    await new Promise((r) => setTimeout(r, 400));
    v.onJob('local-cpu', { type: 'end', lease, valBpb: 3.4, status: 'ok' });
    v.stop();
    const text = out();
    expect(text).toContain('local-cpu baseline aaaaaaa on tiny');
    expect(text).toMatch(/14% \| step 42 \| loss 3\.4568 \| 258s left/);
    expect(text).toContain('\u2588'); // the bar's filled part
    expect(text).toContain('[12:00:00] an earlier result\n');
    expect(text).toMatch(/\u001b\[/); // drawn in place with escape codes
  });

  it('prints plain lines, at most one per interval, when the output is not a terminal', () => {
    const { stream, out } = sink(false);
    let t = 0;
    const v = createProgressView({ stream, plainEveryMs: 10_000, clock: () => t });
    v.onJob('w', { type: 'start', lease });
    t = 5_000;
    v.onJob('w', progress(LINE));
    t = 11_000;
    v.onJob('w', progress(LINE));
    v.log('a result');
    v.onJob('w', { type: 'end', lease, valBpb: 3.4, status: 'ok' });
    expect(out()).toBe(
      '  w: running baseline aaaaaaa on tiny\n  w: step 42 (14.0%) | loss 3.4568 | 258s left\na result\n',
    );
    expect(out()).not.toMatch(/\u001b\[/);
  });
});
