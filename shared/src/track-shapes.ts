/**
 * The autoresearch shapes `ratchet track init` recognises: the original and the forks of
 * shared/UPSTREAM.md, each told apart by its own files (imports, fork markers). Pure data
 * and predicates over a checkout snapshot; no I/O.
 */
import type { Backend } from './track.ts';

/** What a detector sees of a checkout: its top-level file names and small text files. */
export interface CheckoutSnapshot {
  /** Relative POSIX paths of the files at the top of the checkout. */
  paths: readonly string[];
  /** Contents of the text files a detector reads (`*.py`, `pyproject.toml`, …), by path. */
  text: Readonly<Record<string, string>>;
}

export interface Marker {
  /** What was looked for, in words (shown when nothing matches). */
  what: string;
  test(s: CheckoutSnapshot): boolean;
}

export interface Shape {
  /** Stable name, recorded as `origin.shape`. */
  name: string;
  /** The upstream repository this shape comes from. */
  upstream: string;
  defaultId: string;
  hardware: string;
  backends: Backend[];
  /** The fork's own kill limit in seconds (its protocol kills runs past it). */
  killAfterS: number;
  /** Any one of these makes the shape; shapes are tried in the order of SHAPES. */
  markers: Marker[];
}

const src = (s: CheckoutSnapshot, path: string): string => s.text[path] ?? '';

/** A Python module imported at statement level: `import mlx.core as mx`, `from kernels import …`. */
export function imports(code: string, module: string): boolean {
  const m = module.replace(/\./g, '\\.');
  return new RegExp(
    `^\\s*(?:import\\s+${m}(?:[.\\s,]|$)|from\\s+${m}(?:\\.[\\w.]+)?\\s+import\\b)`,
    'm',
  ).test(code);
}

/** A dependency named in pyproject.toml (`"mlx>=0.20"`, `'torch==2.9.1'`). */
export function dependsOn(pyproject: string, name: string): boolean {
  return new RegExp(
    `["']${name.replace(/[-_.]/g, '[-_.]')}(?:\\s*\\[[^\\]]*\\])?\\s*(?:[<>=!~;]|["'])`,
    'i',
  ).test(pyproject);
}

const trainOrPrepare = (s: CheckoutSnapshot) => `${src(s, 'train.py')}\n${src(s, 'prepare.py')}`;

export const SHAPES: readonly Shape[] = [
  {
    name: 'autoresearch-mlx',
    upstream: 'trevin-creator/autoresearch-mlx',
    defaultId: 'autoresearch-mlx',
    hardware: 'Apple Silicon, MLX',
    backends: ['mlx'],
    killAfterS: 15 * 60,
    markers: [
      { what: 'train.py imports mlx', test: (s) => imports(src(s, 'train.py'), 'mlx') },
      { what: 'pyproject.toml depends on mlx', test: (s) => dependsOn(src(s, 'pyproject.toml'), 'mlx') },
    ],
  },
  {
    name: 'autoresearch-win-rtx',
    upstream: 'jsegov/autoresearch-win-rtx',
    defaultId: 'autoresearch-win-rtx',
    hardware: 'Windows, NVIDIA consumer GPU',
    backends: ['cuda'],
    killAfterS: 10 * 60,
    markers: [
      {
        what: 'prepare.py or train.py caches under %LOCALAPPDATA%',
        test: (s) => /LOCALAPPDATA/.test(trainOrPrepare(s)),
      },
      {
        what: 'prepare.py or train.py uses TinyStories',
        test: (s) => /tinystories/i.test(trainOrPrepare(s)),
      },
    ],
  },
  {
    name: 'autoresearch-cpu',
    upstream: 'bopalvelut-prog/autoresearch',
    defaultId: 'autoresearch-cpu',
    hardware: 'CPU (also MPS/CUDA by autodetection)',
    backends: ['cpu', 'mps', 'cuda'],
    killAfterS: 600,
    markers: [
      {
        what: 'agent.py driving Ollama',
        test: (s) => s.paths.includes('agent.py') && /ollama/i.test(src(s, 'agent.py')),
      },
      { what: 'train.py takes --time-budget', test: (s) => /--time-budget\b/.test(src(s, 'train.py')) },
    ],
  },
  {
    name: 'autoresearch-macos',
    upstream: 'miolini/autoresearch-macos',
    defaultId: 'autoresearch-macos',
    hardware: 'Apple Silicon, PyTorch MPS',
    backends: ['mps'],
    killAfterS: 10 * 60,
    markers: [
      {
        what: 'train.py runs on the "mps" device',
        test: (s) =>
          /torch\.backends\.mps|device\s*=\s*["']mps["']|torch\.device\(\s*["']mps["']/.test(
            src(s, 'train.py'),
          ),
      },
    ],
  },
  {
    name: 'autoresearch',
    upstream: 'karpathy/autoresearch',
    defaultId: 'autoresearch',
    hardware: 'NVIDIA GPU (H100), CUDA',
    backends: ['cuda'],
    killAfterS: 10 * 60,
    markers: [
      {
        what: 'train.py imports kernels (Flash Attention 3)',
        test: (s) => imports(src(s, 'train.py'), 'kernels'),
      },
      {
        what: 'pyproject.toml depends on kernels',
        test: (s) => dependsOn(src(s, 'pyproject.toml'), 'kernels'),
      },
    ],
  },
];
