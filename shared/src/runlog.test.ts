import { describe, expect, it } from 'vitest';
import { logTail, parseProgress, parseRunLog } from './runlog.ts';

const progress = (n: number) =>
  Array.from(
    { length: n },
    (_, i) =>
      `\rstep ${String(i).padStart(5, '0')} (${((100 * i) / n).toFixed(1)}%) | loss: 3.2 | remaining: ${n - i}s`,
  ).join('');

const ORIGINAL = `${progress(20)}
---
val_bpb:          0.997900
training_seconds: 300.1
total_seconds:    325.9
peak_vram_mb:     45060.2
mfu_percent:      39.80
total_tokens_M:   499.6
num_steps:        953
num_params_M:     50.3
depth:            8
`;

describe('parseRunLog', () => {
  it('parses the original autoresearch summary with carriage-return progress', () => {
    const r = parseRunLog(ORIGINAL, { exitCode: 0 });
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.metrics.val_bpb).toBe(0.9979);
    expect(r.metrics.num_steps).toBe(953);
    expect(r.metrics.peak_vram_mb).toBe(45060.2);
    expect(r.metrics.depth).toBe(8);
  });

  it('parses the CPU fork, which omits peak_vram_mb', () => {
    const log = `${progress(5)}\n---\nval_bpb:          2.226000\ntraining_seconds: 300.0\nnum_steps:        355\n`;
    const r = parseRunLog(log, { exitCode: 0 });
    expect(r).toMatchObject({
      status: 'ok',
      metrics: { val_bpb: 2.226, peak_vram_mb: null, num_steps: 355 },
    });
  });

  it('parses the macOS fork (peak_vram_mb 0.0) and the MLX fork (mfu 0.00)', () => {
    const mac = parseRunLog('---\nval_bpb: 1.670000\npeak_vram_mb: 0.0\n', { exitCode: 0 });
    expect(mac).toMatchObject({ status: 'ok', metrics: { val_bpb: 1.67, peak_vram_mb: 0 } });
    const mlx = parseRunLog('---\nval_bpb: 1.294000\nmfu_percent: 0.00\n', { exitCode: 0 });
    expect(mlx).toMatchObject({ status: 'ok', metrics: { val_bpb: 1.294, mfu_percent: 0 } });
  });

  it('parses the Windows RTX fork: n/a values, extra keys kept, CRLF line ends', () => {
    const log =
      'step 00001 (1.0%)\r\n---\r\nval_bpb:          1.100000\r\nmfu_percent:      n/a\r\ngpu_name:         RTX 4090\r\n' +
      'vram_total_mb:    24564\r\ndataset:          tinystories\r\nattention:        sdpa\r\n';
    const r = parseRunLog(log, { exitCode: 0 });
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.metrics.mfu_percent).toBeNull();
    expect(r.extra).toEqual({
      gpu_name: 'RTX 4090',
      vram_total_mb: '24564',
      dataset: 'tinystories',
      attention: 'sdpa',
    });
  });

  it('reads only the summary after the LAST ---', () => {
    const log = '---\nval_bpb: 5.0\nnote: early\n---\nval_bpb: 1.5\n';
    const r = parseRunLog(log, { exitCode: 0 });
    expect(r).toMatchObject({ status: 'ok', metrics: { val_bpb: 1.5 } });
    if (r.status === 'ok') expect(r.extra).toEqual({});
  });

  it('reports FAIL glued to the end of a progress line as a nan crash', () => {
    const log = `\rstep 00040 (13.0%) | loss: nan | remaining: 260sFAIL\n`;
    expect(parseRunLog(log, { exitCode: 1 })).toMatchObject({ status: 'crash', reason: 'nan' });
  });

  it('treats a FAIL token as a crash even with exit code 0 and a summary', () => {
    const log = `\rstep 1 | loss: 120.0FAIL\n---\nval_bpb: 1.0\n`;
    expect(parseRunLog(log, { exitCode: 0 })).toMatchObject({ status: 'crash', reason: 'nan' });
  });

  it('does not take FAILED inside a word for the FAIL token', () => {
    expect(parseRunLog('FAILED_OVER: no\n---\nval_bpb: 1.2\n', { exitCode: 0 }).status).toBe('ok');
  });

  it('classifies tracebacks: oom, syntax, import, other', () => {
    const tb = (last: string) =>
      `Traceback (most recent call last):\n  File "train.py", line 3, in <module>\n${last}\n`;
    expect(
      parseRunLog(tb('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'), {
        exitCode: 1,
      }),
    ).toMatchObject({ reason: 'oom' });
    expect(parseRunLog(tb('SyntaxError: invalid syntax'), { exitCode: 1 })).toMatchObject({
      reason: 'syntax',
    });
    expect(parseRunLog(tb('IndentationError: unexpected indent'), { exitCode: 1 })).toMatchObject({
      reason: 'syntax',
    });
    expect(parseRunLog(tb("ModuleNotFoundError: No module named 'kernels'"), { exitCode: 1 })).toMatchObject({
      reason: 'import',
    });
    expect(parseRunLog(tb('ValueError: bad shape'), { exitCode: 1 })).toMatchObject({
      reason: 'other',
      status: 'crash',
    });
    const r = parseRunLog(tb('ValueError: bad shape'), { exitCode: 1 });
    expect(r.status === 'crash' && r.message).toContain('ValueError: bad shape');
  });

  it('reports the hard timeout as a timeout crash', () => {
    expect(parseRunLog(progress(3), { exitCode: null, timedOut: true })).toMatchObject({
      status: 'crash',
      reason: 'timeout',
    });
  });

  it('reports a non-zero exit as a crash even with a summary', () => {
    expect(parseRunLog(ORIGINAL, { exitCode: 2 }).status).toBe('crash');
  });

  it('requires a finite positive val_bpb', () => {
    expect(parseRunLog('no summary at all', { exitCode: 0 })).toMatchObject({ status: 'crash' });
    expect(parseRunLog('---\ntraining_seconds: 3\n', { exitCode: 0 })).toMatchObject({ status: 'crash' });
    for (const bad of ['nan', 'inf', '-inf', '0', '0.000000', '-1.0', 'n/a', 'abc']) {
      expect(parseRunLog(`---\nval_bpb: ${bad}\n`, { exitCode: 0 }).status, bad).toBe('crash');
    }
    expect(parseRunLog('---\nval_bpb: nan\n', { exitCode: 0 })).toMatchObject({ reason: 'nan' });
  });

  it('splits on the first colon and keeps values with colons', () => {
    const r = parseRunLog('---\nval_bpb: 1.0\nstarted: 12:30:01\n', { exitCode: 0 });
    expect(r.status === 'ok' && r.extra.started).toBe('12:30:01');
  });
});

describe('parseProgress', () => {
  it('takes the latest carriage-return update', () => {
    expect(parseProgress(progress(10))).toMatchObject({ step: 9, percent: 90 });
    expect(parseProgress('loading data')).toBeNull();
  });
});

describe('logTail', () => {
  it('keeps the end of a long log', () => {
    const t = logTail(`${'x'.repeat(100)}\n${'y'.repeat(50)}`, 60);
    expect(t).toBe('y'.repeat(50));
  });
});
