/** Whole run logs in the shape each fork prints them, quirks included (shared/UPSTREAM.md). */
import { describe, expect, it } from 'vitest';
import { decodeRunLog, parseRunLog } from './runlog.ts';

const steps = (n: number, eol = '') =>
  Array.from(
    { length: n },
    (_, i) => `\rstep ${String(i).padStart(5, '0')} (${i}.0%) | loss: 3.1 | remaining: 9s    `,
  ).join('') + eol;
const row = (k: string, v: string) => `${`${k}:`.padEnd(18)}${v}`;
const summary = (rows: [string, string][], eol = '\n') =>
  `---${eol}${rows.map(([k, v]) => row(k, v)).join(eol)}${eol}`;
const BASE: [string, string][] = [
  ['val_bpb', '1.100000'],
  ['training_seconds', '300.1'],
  ['total_seconds', '331.0'],
];

describe('run logs of the forks', () => {
  it('Windows RTX: CRLF, mfu n/a, four extra keys, and a stderr warning with a drive path after the summary', () => {
    const log =
      steps(3, '\r\n') +
      summary(
        [
          ...BASE,
          ['peak_vram_mb', '9811.0'],
          ['mfu_percent', 'n/a'],
          ['gpu_name', 'NVIDIA GeForce RTX 4090'],
          ['vram_total_mb', '24564'],
          ['dataset', 'tinystories'],
          ['attention', 'sdpa+cached_mask'],
        ],
        '\r\n',
      ) +
      'C:\\Users\\lab\\autoresearch\\.venv\\Lib\\site-packages\\torch\\cuda\\__init__.py:61: UserWarning: pynvml is deprecated\r\n' +
      '  import pynvml\r\n';
    const r = parseRunLog(log, { exitCode: 0 });
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.metrics).toMatchObject({ val_bpb: 1.1, peak_vram_mb: 9811, mfu_percent: null });
    expect(r.extra).toEqual({
      gpu_name: 'NVIDIA GeForce RTX 4090',
      vram_total_mb: '24564',
      dataset: 'tinystories',
      attention: 'sdpa+cached_mask',
    });
  });

  it('Windows RTX: FAIL glued to a CRLF progress line', () => {
    const log = `${steps(2)}\rstep 00002 (2.0%) | loss: nan | remaining: 290s    FAIL\r\n`;
    expect(parseRunLog(log, { exitCode: 1 })).toMatchObject({ status: 'crash', reason: 'nan' });
  });

  it('a log redirected by Windows PowerShell (UTF-16 with a byte-order mark) decodes and parses', () => {
    const text = steps(2, '\r\n') + summary([...BASE, ['mfu_percent', 'n/a']], '\r\n');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(parseRunLog(decodeRunLog(utf16), { exitCode: 0 })).toMatchObject({
      status: 'ok',
      metrics: { val_bpb: 1.1, mfu_percent: null },
    });
    const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    expect(decodeRunLog(bom8)).toBe(text);
    expect(decodeRunLog(Buffer.from(text))).toBe(text);
  });

  it('CPU fork: no peak_vram_mb line at all', () => {
    const r = parseRunLog(
      steps(4, '\n') + summary([...BASE, ['mfu_percent', '1.20'], ['num_steps', '355']]),
      {
        exitCode: 0,
      },
    );
    expect(r).toMatchObject({
      status: 'ok',
      metrics: { peak_vram_mb: null, mfu_percent: 1.2, num_steps: 355 },
    });
  });

  it('macOS MPS fork: peak_vram_mb 0.0; MLX fork: mfu_percent 0.00 — kept as printed', () => {
    const mps = parseRunLog(
      steps(2, '\n') + summary([...BASE, ['peak_vram_mb', '0.0'], ['mfu_percent', '11.30']]),
      {
        exitCode: 0,
      },
    );
    expect(mps).toMatchObject({ status: 'ok', metrics: { peak_vram_mb: 0, mfu_percent: 11.3 }, extra: {} });
    const mlx = parseRunLog(
      steps(2, '\n') + summary([...BASE, ['peak_vram_mb', '21000.5'], ['mfu_percent', '0.00']]),
      {
        exitCode: 0,
      },
    );
    expect(mlx).toMatchObject({
      status: 'ok',
      metrics: { peak_vram_mb: 21000.5, mfu_percent: 0 },
      extra: {},
    });
  });

  it('the original: FAIL glued to the progress line ends the run without a summary', () => {
    const log = `${steps(40)}\rstep 00040 (13.0%) | loss: 131.2 | remaining: 260s    FAIL\n`;
    expect(parseRunLog(log, { exitCode: 1 })).toMatchObject({ status: 'crash', reason: 'nan' });
  });
});
