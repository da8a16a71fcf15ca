/**
 * Checkouts in the shapes of autoresearch and its forks (shared/UPSTREAM.md), written by the
 * tests themselves: no upstream code, only small stand-ins with each fork's file layout,
 * markers and run-log format, quirks included. They run on any python3 without torch, in
 * well under a second: a few fake steps, capped by RATCHET_TIME_BUDGET_S.
 *
 * `uv` cannot be installed on the test machine, so `writeUvShim` writes a stand-in `uv` for
 * PATH (a test double at the process boundary): `uv sync` creates the folder named by
 * UV_PROJECT_ENVIRONMENT and logs the call; `uv run [python ARGS] FILE` refuses to run before
 * a sync, as uv cannot either, then runs the test's python3 in that environment.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ForkName = 'original' | 'cpu' | 'macos' | 'mlx' | 'win-rtx';

export interface ForkFixture {
  name: ForkName;
  upstream: string;
  /** The track id `track init` should choose. */
  id: string;
  /** val_bpb the stand-in prints with LEARNING_RATE at its default (± 1e-3 of seed noise). */
  baseBpb: number;
  programLine: string;
}

export const FORKS: Record<ForkName, ForkFixture> = {
  original: {
    name: 'original',
    upstream: 'karpathy/autoresearch',
    id: 'autoresearch',
    baseBpb: 0.9979,
    programLine: '',
  },
  cpu: {
    name: 'cpu',
    upstream: 'bopalvelut-prog/autoresearch',
    id: 'autoresearch-cpu',
    baseBpb: 2.287,
    programLine: '',
  },
  macos: {
    name: 'macos',
    upstream: 'miolini/autoresearch-macos',
    id: 'autoresearch-macos',
    baseBpb: 1.67,
    programLine: '',
  },
  mlx: {
    name: 'mlx',
    upstream: 'trevin-creator/autoresearch-mlx',
    id: 'autoresearch-mlx',
    baseBpb: 1.294,
    programLine: '',
  },
  'win-rtx': {
    name: 'win-rtx',
    upstream: 'jsegov/autoresearch-win-rtx',
    id: 'autoresearch-win-rtx',
    baseBpb: 1.1,
    programLine: '',
  },
};
for (const f of Object.values(FORKS)) f.programLine = `Research program of the ${f.upstream} stand-in.`;

const PYPROJECT = (deps: string[], extra = '') => `[project]
name = "autoresearch"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = [
${deps.map((d) => `    "${d}",`).join('\n')}
]
${extra}`;

const UV_LOCK = (deps: string[]) =>
  `version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n[[package]]\nname = "autoresearch"\nversion = "0.1.0"\nsource = { virtual = "." }\ndependencies = [\n${deps
    .map((d) => `    { name = "${d.split(/[<>=]/)[0]}", specifier = "${d.slice(d.search(/[<>=]/))}" },`)
    .join('\n')}\n]\n`;

/** prepare.py: upstream's fixed constants, a "download" into the fork's cache, the metric. */
function preparePy(f: ForkFixture, cacheDirExpr: string, header: string): string {
  return `"""Stand-in for ${f.upstream}'s prepare.py, written by ratchet's tests (no upstream code)."""
import os
${header}
MAX_SEQ_LEN = 2048
TIME_BUDGET = 300  # seconds of training, enforced inside train.py
CACHE_DIR = ${cacheDirExpr}
DATA_FILE = os.path.join(CACHE_DIR, "data", "standin-${f.name}.txt")


def evaluate_bpb(learning_rate, rng):
    with open(DATA_FILE) as fh:
        base = float(fh.read())
    return base + 10 * (learning_rate - 0.04) ** 2 + rng.uniform(-1e-3, 1e-3)


if __name__ == "__main__":
    os.makedirs(os.path.dirname(DATA_FILE), exist_ok=True)
    with open(DATA_FILE, "w") as fh:
        fh.write("${f.baseBpb}")
    print("data ready in " + CACHE_DIR)
`;
}

/** train.py: fake steps as carriage-return progress, FAIL glued on divergence, the summary. */
function trainPy(
  f: ForkFixture,
  o: { header: string; budget?: string; summary: string; before?: string },
): string {
  return String.raw`"""Stand-in for ${f.upstream}'s train.py, written by ratchet's tests (no upstream code)."""
import math
import os
import random
import sys
import time

from prepare import MAX_SEQ_LEN, TIME_BUDGET, evaluate_bpb
${o.header}
LEARNING_RATE = 0.04  # above 1.0 the loss diverges: NaN, FAIL
STEPS = 12


def main():
${o.before ?? ''}    budget = min(${o.budget ?? 'TIME_BUDGET'}, float(os.environ.get("RATCHET_TIME_BUDGET_S", TIME_BUDGET)))
    rng = random.Random(int(os.environ.get("RATCHET_SEED", "0")))
    t0 = time.time()
    loss = 9.0
    step = 0
    while step < STEPS and time.time() - t0 < budget:
        loss = float("nan") if LEARNING_RATE > 1.0 else loss * (1.0 - LEARNING_RATE)
        left = max(0.0, budget - (time.time() - t0))
        print(f"\rstep {step:05d} ({100.0 * step / STEPS:.1f}%) | loss: {loss:.6f} | remaining: {left:.0f}s    ", end="", flush=True)
        if math.isnan(loss) or loss > 100:
            print("FAIL")
            sys.exit(1)
        time.sleep(0.02)
        step += 1
    print()
    training_seconds = time.time() - t0
    val_bpb = evaluate_bpb(LEARNING_RATE, rng)
    print("---")
    row = lambda k, v: print(f"{k + ':':<18}{v}")
    row("val_bpb", f"{val_bpb:.6f}")
    row("training_seconds", f"{training_seconds:.1f}")
    row("total_seconds", f"{time.time() - t0 + 0.1:.1f}")
${o.summary}    row("total_tokens_M", f"{step * MAX_SEQ_LEN / 1e6:.1f}")
    row("num_steps", step)
    row("num_params_M", "11.5")
    row("depth", 8)


if __name__ == "__main__":
    main()
`;
}

const HOME_CACHE = 'os.path.join(os.path.expanduser("~"), ".cache", "autoresearch")';

function files(f: ForkFixture): Record<string, string> {
  const common = {
    'program.md': `# ${f.upstream}\n\n${f.programLine}\n`,
    '.python-version': '3.10\n',
    'README.md': `# ${f.upstream} (stand-in)\n`,
    'results.tsv': 'commit\tval_bpb\tmemory_gb\tstatus\tdescription\n',
  };
  switch (f.name) {
    case 'original': {
      const deps = ['kernels>=0.11.7', 'numpy>=2.2.6', 'torch==2.9.1'];
      return {
        ...common,
        'pyproject.toml': PYPROJECT(deps, '\n[tool.uv.sources]\ntorch = [{ index = "pytorch-cu128" }]\n'),
        'uv.lock': UV_LOCK(deps),
        'prepare.py': preparePy(f, HOME_CACHE, ''),
        'train.py': trainPy(f, {
          header:
            'try:\n    from kernels import get_kernel  # Flash Attention 3 on the real train.py\nexcept ImportError:\n    get_kernel = None\n',
          summary: '    row("peak_vram_mb", "45060.2")\n    row("mfu_percent", "39.80")\n',
        }),
      };
    }
    case 'cpu': {
      const deps = ['numpy>=2.2.6', 'torch>=2.6', 'requests>=2.32'];
      return {
        ...common,
        'pyproject.toml': PYPROJECT(deps),
        'uv.lock': UV_LOCK(deps),
        'prepare.py': preparePy(f, HOME_CACHE, ''),
        'agent.py':
          '"""Stand-in for the fork\'s loop driver: asks Ollama (qwen2.5:0.5b) for one value. Never run here."""\nOLLAMA_URL = "http://127.0.0.1:11434/api/generate"\n',
        // The CPU fork prints peak_vram_mb only on CUDA: no such line here.
        'train.py': trainPy(f, {
          header: 'import argparse\n\ndevice = "cpu"  # cuda, then mps, then cpu on the real train.py\n',
          before:
            '    parser = argparse.ArgumentParser()\n    parser.add_argument("--time-budget", type=float, default=TIME_BUDGET)\n    args = parser.parse_args()\n',
          budget: 'args.time_budget',
          summary: '    row("mfu_percent", "1.20")\n',
        }),
      };
    }
    case 'macos': {
      const deps = ['numpy>=2.2.6', 'torch>=2.8'];
      return {
        ...common,
        'pyproject.toml': PYPROJECT(deps),
        'uv.lock': UV_LOCK(deps),
        'prepare.py': preparePy(f, HOME_CACHE, ''),
        'train.py': trainPy(f, {
          header: 'device = "mps"  # torch.device("mps") on the real train.py\n',
          summary: '    row("peak_vram_mb", "0.0")\n    row("mfu_percent", "11.30")\n',
        }),
      };
    }
    case 'mlx': {
      const deps = ['mlx>=0.29', 'numpy>=2.2.6'];
      return {
        ...common,
        'pyproject.toml': PYPROJECT(deps),
        'uv.lock': UV_LOCK(deps),
        'prepare.py': preparePy(f, HOME_CACHE, ''),
        'rigor.py':
          '"""Stand-in for the fork\'s repeat-and-bootstrap helper. Never run here."""\nREPEATS = 3\n',
        'train.py': trainPy(f, {
          header:
            'try:\n    import mlx.core as mx  # the real train.py runs on MLX\nexcept ImportError:\n    mx = None\n',
          summary: '    row("peak_vram_mb", "21000.5")\n    row("mfu_percent", "0.00")\n',
        }),
      };
    }
    case 'win-rtx': {
      const deps = ['numpy>=2.2.6', 'torch==2.7.1'];
      return {
        ...common,
        'pyproject.toml': PYPROJECT(deps, '\n[tool.uv.sources]\ntorch = [{ index = "pytorch-cu128" }]\n'),
        'uv.lock': UV_LOCK(deps),
        'prepare.py': preparePy(
          f,
          'os.path.join(os.environ.get("LOCALAPPDATA") or os.path.expanduser("~"), "autoresearch") if os.name == "nt" else ' +
            HOME_CACHE,
          'DATASET = "roneneldan/TinyStories"',
        ),
        // What the fork's log looks like on Windows: text-mode stdout writes CRLF.
        'train.py': trainPy(f, {
          header: 'sys.stdout.reconfigure(newline="\\r\\n")  # Windows text mode, on every OS\n',
          summary:
            '    row("peak_vram_mb", "9811.0")\n    row("mfu_percent", "n/a")\n    row("gpu_name", "NVIDIA GeForce RTX 4090")\n' +
            '    row("vram_total_mb", "24564")\n    row("dataset", "tinystories")\n    row("attention", "sdpa+cached_mask")\n',
        }),
      };
    }
  }
}

/** Write the checkout of `fork` into `dir` (created). */
export async function writeFork(dir: string, fork: ForkName): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files(FORKS[fork]))) await writeFile(join(dir, name), text);
}

/** A `uv` for PATH in `binDir` that logs to `logFile` and runs `python`. See the file comment. */
export async function writeUvShim(binDir: string, python: string, logFile: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  const script = `#!/bin/sh
# Test double for uv (not installable on the test machine); see test/support/forks.ts.
log='${logFile}'
cmd="$1"; shift
case "$cmd" in
  sync)
    [ -n "$UV_PROJECT_ENVIRONMENT" ] || { echo "uv shim: UV_PROJECT_ENVIRONMENT unset" >&2; exit 2; }
    [ -f uv.lock ] || [ -f pyproject.toml ] || { echo "error: no pyproject.toml in $(pwd)" >&2; exit 2; }
    mkdir -p "$UV_PROJECT_ENVIRONMENT/bin" && echo "sync $UV_PROJECT_ENVIRONMENT" >> "$log" ;;
  run)
    echo "run $*" >> "$log"
    [ -n "$UV_PROJECT_ENVIRONMENT" ] && [ -d "$UV_PROJECT_ENVIRONMENT/bin" ] || { echo "uv shim: environment not synced" >&2; exit 2; }
    [ "$1" = python ] && shift
    VIRTUAL_ENV="$UV_PROJECT_ENVIRONMENT" exec '${python}' "$@" ;;
  *) echo "uv shim: unsupported command $cmd" >&2; exit 2 ;;
esac
`;
  const file = join(binDir, 'uv');
  await writeFile(file, script);
  await chmod(file, 0o755);
}
