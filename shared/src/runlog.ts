/**
 * The run-log parser: turns the output of an autoresearch-style `train.py` (the original
 * or any of its forks) into `ok` with metrics or `crash` with a reason.
 *
 * Contract (DESIGN.md "The run log"):
 * - `\r\n` and `\r` become line breaks (progress is printed as carriage-return updates);
 * - the summary is the `key: value` lines after the LAST line equal to `---`;
 * - `val_bpb` is required, finite and > 0; known optional keys may be missing or `n/a`;
 *   unknown keys are kept as strings;
 * - crash on: non-zero exit, no summary or no valid val_bpb, a `FAIL` token anywhere
 *   (upstream glues it to the end of a progress line), or the hard timeout.
 */
import { z } from 'zod';

export const KNOWN_METRIC_KEYS = [
  'val_bpb',
  'training_seconds',
  'total_seconds',
  'peak_vram_mb',
  'mfu_percent',
  'total_tokens_M',
  'num_steps',
  'num_params_M',
  'depth',
] as const;
export type KnownMetricKey = (typeof KNOWN_METRIC_KEYS)[number];

export const CrashReason = z.enum(['oom', 'nan', 'timeout', 'syntax', 'import', 'other']);
export type CrashReason = z.infer<typeof CrashReason>;

/**
 * The largest val_bpb a run may report. Eight bits per byte is a uniform guess; upstream's
 * train.py fails a run whose loss passes 100 nats per token (about 144 bits per byte at one
 * byte a token), so anything above this bound is a broken or forged number, not a result.
 */
export const MAX_VAL_BPB = 1000;
/** A crash message fits the wire schema's 2,000 characters with room to spare. */
const MAX_MESSAGE = 1000;

/**
 * The largest value each other metric may take: far beyond any real run (a year of
 * training, 100 TB of memory, 10^14 tokens or parameters), so that a forged number — the
 * throughput figures decide which runs count as throttled — is refused at the API, and a
 * run log that prints one reports it as unknown.
 */
export const METRIC_MAX = {
  training_seconds: 3.2e7,
  total_seconds: 3.2e7,
  peak_vram_mb: 1e8,
  mfu_percent: 1e4,
  total_tokens_M: 1e8,
  num_steps: 1e12,
  num_params_M: 1e8,
  depth: 1e6,
} as const;
const bounded = (max: number) => z.number().min(0).max(max).nullable();

export const RunMetrics = z.object({
  val_bpb: z.number().positive().max(MAX_VAL_BPB),
  training_seconds: bounded(METRIC_MAX.training_seconds),
  total_seconds: bounded(METRIC_MAX.total_seconds),
  peak_vram_mb: bounded(METRIC_MAX.peak_vram_mb),
  mfu_percent: bounded(METRIC_MAX.mfu_percent),
  total_tokens_M: bounded(METRIC_MAX.total_tokens_M),
  num_steps: bounded(METRIC_MAX.num_steps),
  num_params_M: bounded(METRIC_MAX.num_params_M),
  depth: bounded(METRIC_MAX.depth),
});
export type RunMetrics = z.infer<typeof RunMetrics>;

export const RunParse = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('ok'),
    metrics: RunMetrics,
    extra: z.record(z.string(), z.string()),
  }),
  z.object({
    status: z.literal('crash'),
    reason: CrashReason,
    message: z.string(),
    extra: z.record(z.string(), z.string()),
  }),
]);
export type RunParse = z.infer<typeof RunParse>;

export interface ParseOptions {
  /** Exit code of the training process; null when it was killed by a signal. */
  exitCode?: number | null;
  /** True when the runner killed the process at the track's hard timeout. */
  timedOut?: boolean;
}

export function normaliseLineEnds(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/\r/g, '\n');
}

/** `FAIL` as a token: upstream prints it glued to the end of a progress line. */
const FAIL_TOKEN = /FAIL(?![A-Za-z0-9_])/;

function parseNumber(raw: string): number | null {
  const v = raw.trim();
  if (v === '' || /^n\/?a$/i.test(v) || /^none$/i.test(v)) return null;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|infinity|nan)$/i.test(v)) return null;
  const n = Number(/^[-+]?(inf|infinity)$/i.test(v) ? (v.startsWith('-') ? '-Infinity' : 'Infinity') : v);
  return n;
}

const WINDOWS_PATH = /^\s*[A-Za-z]:[\\/]/;

/**
 * A run log's bytes as text: UTF-8, or UTF-16 with a byte-order mark (what Windows
 * PowerShell's `>` writes when a user redirects `uv run train.py > run.log` by hand).
 */
export function decodeRunLog(buf: Uint8Array): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) {
    const swapped = Buffer.from(b.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  return b.toString('utf8');
}

function summaryAfterLastSeparator(lines: string[]): Map<string, string> | null {
  let last = -1;
  for (let i = 0; i < lines.length; i++) if (lines[i]!.trim() === '---') last = i;
  if (last < 0) return null;
  const out = new Map<string, string>();
  for (const line of lines.slice(last + 1)) {
    // A warning on stderr that names a Windows file (`C:\…\x.py:61: UserWarning`) is no key.
    if (WINDOWS_PATH.test(line)) continue;
    const idx = line.indexOf(':');
    if (idx <= 0) continue;
    const key = line.slice(0, idx).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) continue;
    out.set(key, line.slice(idx + 1).trim());
  }
  return out;
}

export function classifyCrash(text: string, opts: ParseOptions): CrashReason {
  if (opts.timedOut) return 'timeout';
  if (/out of memory|OutOfMemoryError|std::bad_alloc|MemoryError|Cannot allocate memory/i.test(text))
    return 'oom';
  if (/SyntaxError|IndentationError|TabError/.test(text)) return 'syntax';
  if (/ModuleNotFoundError|ImportError/.test(text)) return 'import';
  if (FAIL_TOKEN.test(text) || /\bnan\b|non-finite|not finite/i.test(text)) return 'nan';
  if (opts.exitCode === 137 || opts.exitCode === -9) return 'oom';
  return 'other';
}

function crashMessage(lines: string[]): string {
  const meaningful = lines.map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  return (meaningful[meaningful.length - 1] ?? 'no output').slice(0, 500);
}

export function parseRunLog(raw: string, opts: ParseOptions = {}): RunParse {
  const text = normaliseLineEnds(raw);
  const lines = text.split('\n');
  const summary = summaryAfterLastSeparator(lines);
  const extra: Record<string, string> = {};
  const known = new Map<string, number | null>();
  if (summary) {
    for (const [k, v] of summary) {
      if ((KNOWN_METRIC_KEYS as readonly string[]).includes(k)) known.set(k, parseNumber(v));
      else extra[k] = v;
    }
  }
  const crash = (message: string): RunParse => ({
    status: 'crash',
    reason: classifyCrash(text, opts),
    message: message.slice(0, MAX_MESSAGE),
    extra,
  });
  if (opts.timedOut) return crash('killed at the hard timeout');
  if (FAIL_TOKEN.test(text)) return crash('training printed FAIL');
  if (opts.exitCode !== undefined && opts.exitCode !== 0) {
    return crash(
      `exit code ${opts.exitCode === null ? 'null (killed by a signal)' : opts.exitCode}: ${crashMessage(lines)}`,
    );
  }
  if (!summary) return crash(`no summary block: ${crashMessage(lines)}`);
  const bpb = known.get('val_bpb');
  if (bpb === undefined) return crash('summary has no val_bpb');
  if (bpb === null || !Number.isFinite(bpb) || bpb <= 0 || bpb > MAX_VAL_BPB) {
    const shown = (summary.get('val_bpb') ?? '').slice(0, 100);
    return { status: 'crash', reason: 'nan', message: `invalid val_bpb: ${shown}`, extra };
  }
  const num = (k: Exclude<KnownMetricKey, 'val_bpb'>): number | null => {
    const v = known.get(k);
    return v === undefined || v === null || !Number.isFinite(v) || v < 0 || v > METRIC_MAX[k] ? null : v;
  };
  return {
    status: 'ok',
    metrics: {
      val_bpb: bpb,
      training_seconds: num('training_seconds'),
      total_seconds: num('total_seconds'),
      peak_vram_mb: num('peak_vram_mb'),
      mfu_percent: num('mfu_percent'),
      total_tokens_M: num('total_tokens_M'),
      num_steps: num('num_steps'),
      num_params_M: num('num_params_M'),
      depth: num('depth'),
    },
    extra,
  };
}

export const Progress = z.object({
  step: z.number().int().nonnegative().nullable(),
  percent: z.number().min(0).max(100).nullable(),
  line: z.string().max(300),
});
export type Progress = z.infer<typeof Progress>;

/** The latest progress update in a log tail (`step 00042 (14.0%) | loss: …`). */
export function parseProgress(tail: string): Progress | null {
  const lines = normaliseLineEnds(tail)
    .split('\n')
    .filter((l) => /\bstep\s+\d+/.test(l));
  const last = lines[lines.length - 1];
  if (!last) return null;
  const step = /\bstep\s+(\d+)/.exec(last);
  const pct = /\((\d+(?:\.\d+)?)%\)/.exec(last);
  const percent = pct ? Math.min(100, Number(pct[1])) : null;
  // A step past 2^53 is not an integer a JSON number can carry: report no step.
  const n = step ? Number(step[1]) : null;
  return { step: n !== null && Number.isSafeInteger(n) ? n : null, percent, line: last.trim().slice(0, 300) };
}

/** The last `maxBytes` of a log, cut at a line start when possible. */
export function logTail(text: string, maxBytes = 4000): string {
  const t = normaliseLineEnds(text);
  if (t.length <= maxBytes) return t;
  const cut = t.slice(t.length - maxBytes);
  const nl = cut.indexOf('\n');
  return nl >= 0 && nl < 200 ? cut.slice(nl + 1) : cut;
}
