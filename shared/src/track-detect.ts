/**
 * `ratchet track init`'s core: from a snapshot of an autoresearch checkout to the
 * `ratchet.json` that runs it as a track. Pure; the CLI reads the checkout and writes the file.
 *
 * What it writes for every recognised shape:
 * - `train.py` editable; `prepare.py`, the Python project files and every local module
 *   train.py/prepare.py import, pinned (a patch cannot touch them);
 * - with `uv.lock` (or `pyproject.toml`): `uv sync` as the environment sync, cached per
 *   machine by the lockfile's hash in a folder named through `UV_PROJECT_ENVIRONMENT`,
 *   then `uv run prepare.py` and `uv run train.py`; without them, the worker's interpreter;
 * - on Windows, Python in UTF-8 mode (`-X utf8`): its stdout into a log file otherwise uses
 *   the ANSI code page, and a non-ASCII character in the output ends the run;
 * - budget: `TIME_BUDGET` read from prepare.py/train.py (300 s upstream); the kill limit
 *   is the fork's own (or budget + 300 s when the budget is longer).
 */
import { ErrorCodes, RatchetError } from './errors.ts';
import { type Backend, TrackConfig, type TrackOrigin } from './track.ts';
import { type CheckoutSnapshot, imports, SHAPES, type Shape } from './track-shapes.ts';

export interface Detection {
  shape: Shape;
  /** The markers that matched, in words. */
  evidence: string[];
  /** Things the user should know (no program.md, say). */
  warnings: string[];
  config: TrackConfig;
}

export interface DetectOptions {
  id?: string;
  /** Take this shape (a name from SHAPES) without looking for its markers. */
  shape?: string;
  origin?: Omit<TrackOrigin, 'shape'>;
}

const PROJECT_FILES = ['pyproject.toml', 'uv.lock', '.python-version', 'requirements.txt'];

/** `TIME_BUDGET = 300` (or `TIME_BUDGET: int = 300`) in the fixed files. */
export function readTimeBudget(s: CheckoutSnapshot): number | null {
  for (const f of ['prepare.py', 'train.py']) {
    const m = /^TIME_BUDGET(?:\s*:\s*\w+)?\s*=\s*(\d+(?:\.\d+)?)\b/m.exec(s.text[f] ?? '');
    if (m) return Math.round(Number(m[1]));
  }
  return null;
}

/** Local modules (`x.py` at the top of the checkout) that `from`-files import, transitively. */
export function localImports(s: CheckoutSnapshot, from: string[]): string[] {
  const modules = s.paths.filter((p) => /^[A-Za-z_]\w*\.py$/.test(p));
  const seen = new Set<string>(from);
  const queue = [...from];
  while (queue.length > 0) {
    const code = s.text[queue.shift()!] ?? '';
    for (const m of modules) {
      if (seen.has(m) || !imports(code, m.slice(0, -3))) continue;
      seen.add(m);
      queue.push(m);
    }
  }
  return [...seen].filter((p) => !from.includes(p)).sort();
}

function lookedFor(s: CheckoutSnapshot): string {
  const lines = [
    `  train.py and prepare.py at the top of the checkout (found: ${s.paths.slice(0, 20).join(', ') || 'nothing'})`,
  ];
  for (const shape of SHAPES) {
    lines.push(`  ${shape.upstream} (${shape.hardware}): ${shape.markers.map((m) => m.what).join(', or ')}`);
  }
  return lines.join('\n');
}

/** A ratchet.json to fill in by hand for a layout `track init` does not know. */
export function trackTemplate(s: CheckoutSnapshot, id = 'my-track'): Record<string, unknown> {
  const py = s.paths.filter((p) => p.endsWith('.py'));
  const editable = py.includes('train.py') ? 'train.py' : (py[0] ?? 'train.py');
  return {
    id,
    description: 'What this track trains, on which hardware.',
    editable: [editable],
    pinned: py.filter((p) => p !== editable).concat(PROJECT_FILES.filter((f) => s.paths.includes(f))),
    prepare: s.paths.includes('prepare.py') ? ['python', 'prepare.py'] : null,
    run: { default: ['python', 'train.py'], win32: ['python', '-X', 'utf8', 'train.py'] },
    budgetS: 300,
    hardTimeoutS: 600,
    backends: ['cuda', 'mps', 'mlx', 'cpu'],
    program: 'program.md',
    sync: null,
  };
}

export function detectShape(
  s: CheckoutSnapshot,
  forced?: string,
): { shape: Shape; evidence: string[] } | null {
  if (!s.paths.includes('train.py') || !s.paths.includes('prepare.py')) return null;
  if (forced !== undefined) {
    const shape = SHAPES.find((x) => x.name === forced);
    if (!shape) {
      throw new RatchetError(
        ErrorCodes.BAD_INPUT,
        `no shape named ${forced} (known: ${SHAPES.map((x) => x.name).join(', ')})`,
      );
    }
    return { shape, evidence: ['chosen with --shape'] };
  }
  for (const shape of SHAPES) {
    const evidence = shape.markers.filter((m) => m.test(s)).map((m) => m.what);
    if (evidence.length > 0) return { shape, evidence };
  }
  return null;
}

export function detectTrack(s: CheckoutSnapshot, opts: DetectOptions = {}): Detection {
  const found = detectShape(s, opts.shape);
  if (!found) {
    const template = trackTemplate(s, opts.id);
    throw new RatchetError(
      ErrorCodes.TRACK_UNRECOGNISED,
      `not a layout ratchet knows. Looked for:\n${lookedFor(s)}\n` +
        `Name a shape with --shape (${SHAPES.map((x) => x.name).join(', ')}) if one fits, or fill in ` +
        'the template (printed on stdout) as DIR/ratchet.json and run `ratchet track add DIR`.',
      { details: { template } },
    );
  }
  const { shape, evidence } = found;
  const has = (f: string) => s.paths.includes(f);
  const warnings: string[] = [];
  const pinned = ['prepare.py', ...localImports(s, ['train.py', 'prepare.py']), ...PROJECT_FILES.filter(has)];
  const lockfile = has('uv.lock') ? 'uv.lock' : has('pyproject.toml') ? 'pyproject.toml' : null;
  const py = (file: string): string[] => (lockfile ? ['uv', 'run', file] : ['python', file]);
  const runsOnWindows = shape.backends.some((b: Backend) => b === 'cuda' || b === 'cpu');
  const budget = readTimeBudget(s) ?? 300;
  if (!has('program.md')) warnings.push('no program.md: proposers will get a generic instruction');
  if (!lockfile) warnings.push('no pyproject.toml or uv.lock: workers run it with their own interpreter');
  if (readTimeBudget(s) === null)
    warnings.push('no TIME_BUDGET found in prepare.py or train.py: assuming 300 s');
  const raw = {
    id: opts.id ?? shape.defaultId,
    description: `${shape.upstream} (${shape.hardware}), imported by ratchet track init`,
    editable: ['train.py'],
    pinned,
    prepare: py('prepare.py'),
    run: {
      default: py('train.py'),
      ...(runsOnWindows
        ? {
            win32: lockfile
              ? ['uv', 'run', 'python', '-X', 'utf8', 'train.py']
              : ['python', '-X', 'utf8', 'train.py'],
          }
        : {}),
    },
    budgetS: budget,
    hardTimeoutS: shape.killAfterS > budget ? shape.killAfterS : budget + 300,
    backends: shape.backends,
    program: 'program.md',
    sync: lockfile ? { argv: ['uv', 'sync'], lockfile, envDirVar: 'UV_PROJECT_ENVIRONMENT' } : null,
    origin: { shape: shape.name, ...opts.origin },
  };
  const parsed = TrackConfig.safeParse(raw);
  if (!parsed.success) {
    throw new RatchetError(
      ErrorCodes.TRACK_INVALID,
      `generated ratchet.json is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return { shape, evidence, warnings, config: parsed.data };
}
