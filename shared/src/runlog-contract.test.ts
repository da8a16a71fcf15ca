/** The parser's output always fits the wire schema the coordinator checks it against. */
import { describe, expect, it } from 'vitest';
import { parseProgress, parseRunLog, type RunParse } from './runlog.ts';
import { HeartbeatInput, JobOutcome } from './schemas.ts';

const timings = { leasedAt: 1, checkoutMs: 0, prepareMs: 0, trainStartAt: 2, trainExitAt: 3, reportedAt: 4 };

function asOutcome(p: RunParse) {
  return p.status === 'ok'
    ? { status: 'ok' as const, metrics: p.metrics, extra: p.extra, logTail: '', timings }
    : { status: 'crash' as const, reason: p.reason, message: p.message, logTail: '', timings };
}

/** A small deterministic generator, so a failure names its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = [
  '---',
  'val_bpb: ',
  'num_steps: ',
  '\r',
  '\n',
  'FAIL',
  'step ',
  '(',
  '%)',
  'nan',
  'inf',
  '1e309',
  '-0.5',
  '0.997900',
  '9'.repeat(40),
  'x'.repeat(3000),
  ':',
  'peak_vram_mb: n/a',
];

describe('the run-log contract', () => {
  it('turns an endless val_bpb into a crash whose message fits the schema', () => {
    const p = parseRunLog(`---\nval_bpb: ${'9'.repeat(5000)}x\n`, { exitCode: 0 });
    expect(p.status).toBe('crash');
    expect(JobOutcome.safeParse(asOutcome(p)).success).toBe(true);
  });

  it('refuses a val_bpb beyond any real run as a crash, not a result', () => {
    const p = parseRunLog('---\nval_bpb: 1e308\n', { exitCode: 0 });
    expect(p).toMatchObject({ status: 'crash', reason: 'nan' });
  });

  it('reports a metric beyond any real run as unknown, and the API refuses one', () => {
    const log = '---\nval_bpb: 1.0\ntotal_tokens_M: 1e308\nnum_steps: -5\nnum_params_M: 50.0\n';
    const p = parseRunLog(log, { exitCode: 0 });
    expect(p).toMatchObject({
      status: 'ok',
      metrics: { total_tokens_M: null, num_steps: null, num_params_M: 50 },
    });
    expect(JobOutcome.safeParse(asOutcome(p)).success).toBe(true);
    const forged = asOutcome(p) as { metrics: Record<string, unknown> };
    for (const [k, v] of [
      ['total_tokens_M', 1e308],
      ['num_steps', 1e300],
      ['training_seconds', -1],
      ['peak_vram_mb', 1e200],
    ] as const) {
      const bad = { ...forged, metrics: { ...forged.metrics, [k]: v } };
      expect(JobOutcome.safeParse(bad).success, k).toBe(false);
    }
  });

  it('reports no step rather than one past 2^53', () => {
    const pr = parseProgress(`step ${'9'.repeat(30)} (14.0%) | loss: 3.2`);
    expect(pr?.step).toBeNull();
    expect(pr?.percent).toBe(14);
    const hb = { workerId: 'worker1', experimentId: 'experiment1', leaseToken: 'x'.repeat(32), progress: pr };
    expect(HeartbeatInput.safeParse(hb).success).toBe(true);
  });

  it('fits the schema for 5,000 random logs', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const r = rng(seed);
      let log = '';
      const n = Math.floor(r() * 30);
      for (let i = 0; i < n; i++) log += PIECES[Math.floor(r() * PIECES.length)]!;
      const exitCode = r() < 0.2 ? 1 : 0;
      const p = parseRunLog(log, { exitCode });
      const ok = JobOutcome.safeParse(asOutcome(p));
      if (!ok.success)
        throw new Error(`seed ${seed}: ${JSON.stringify(log).slice(0, 200)}: ${ok.error.message}`);
      const pr = parseProgress(log);
      const hb = HeartbeatInput.safeParse({
        workerId: 'worker1',
        experimentId: 'experiment1',
        leaseToken: 'x'.repeat(32),
        progress: pr,
      });
      if (!hb.success) throw new Error(`seed ${seed}: progress ${JSON.stringify(pr)}`);
    }
  });
});
