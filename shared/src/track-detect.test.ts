import { describe, expect, it } from 'vitest';
import { ErrorCodes, RatchetError } from './errors.ts';
import { TrackConfig } from './track.ts';
import { detectTrack, localImports, readTimeBudget } from './track-detect.ts';
import type { CheckoutSnapshot } from './track-shapes.ts';
import { dependsOn, imports } from './track-shapes.ts';

const PREPARE = 'MAX_SEQ_LEN = 2048\nTIME_BUDGET = 300\n';
const TRAIN = 'from prepare import MAX_SEQ_LEN, TIME_BUDGET\n';

function snap(files: Record<string, string>): CheckoutSnapshot {
  return { paths: Object.keys(files).sort(), text: files };
}
const uvProject = (deps: string) => ({
  'pyproject.toml': `[project]\nname = "autoresearch"\ndependencies = [${deps}]\n`,
  'uv.lock': 'version = 1\n',
  '.python-version': '3.10\n',
  'program.md': '# program\n',
});

const SHAPES = {
  original: snap({
    ...uvProject('"kernels>=0.11", "torch==2.9.1"'),
    'prepare.py': PREPARE,
    'train.py': `from kernels import get_kernel\n${TRAIN}model = torch.compile(model)\n`,
  }),
  cpu: snap({
    ...uvProject('"torch>=2.6"'),
    'agent.py': 'import requests\nOLLAMA = "http://localhost:11434"  # ask Ollama for one value\n',
    'prepare.py': PREPARE,
    'train.py': `${TRAIN}p.add_argument("--time-budget", type=int, default=300)\n`,
  }),
  macos: snap({
    ...uvProject('"torch>=2.8"'),
    'prepare.py': PREPARE,
    'train.py': `${TRAIN}device = torch.device("mps")\n`,
  }),
  mlx: snap({
    ...uvProject('"mlx>=0.29", "numpy"'),
    'prepare.py': PREPARE,
    'train.py': `import mlx.core as mx\nimport mlx.nn as nn\n${TRAIN}`,
  }),
  win: snap({
    ...uvProject('"torch==2.7.1"'),
    'prepare.py': `${PREPARE}CACHE = os.environ["LOCALAPPDATA"]\nDATASET = "roneneldan/TinyStories"\n`,
    'train.py': TRAIN,
  }),
};

describe('detectTrack', () => {
  it('recognises the original and each fork, with their backends and kill limits', () => {
    const got = Object.fromEntries(
      Object.entries(SHAPES).map(([k, s]) => {
        const d = detectTrack(s);
        return [k, [d.shape.upstream, d.config.id, d.config.backends, d.config.hardTimeoutS]];
      }),
    );
    expect(got).toEqual({
      original: ['karpathy/autoresearch', 'autoresearch', ['cuda'], 600],
      cpu: ['bopalvelut-prog/autoresearch', 'autoresearch-cpu', ['cpu', 'mps', 'cuda'], 600],
      macos: ['miolini/autoresearch-macos', 'autoresearch-macos', ['mps'], 600],
      mlx: ['trevin-creator/autoresearch-mlx', 'autoresearch-mlx', ['mlx'], 900],
      win: ['jsegov/autoresearch-win-rtx', 'autoresearch-win-rtx', ['cuda'], 600],
    });
  });

  it('writes uv commands, a sync cached by uv.lock, pinned project files and the program', () => {
    const { config: c, evidence } = detectTrack(SHAPES.original);
    expect(evidence).toContain('train.py imports kernels (Flash Attention 3)');
    expect(c.editable).toEqual(['train.py']);
    expect(c.pinned).toEqual(['prepare.py', 'pyproject.toml', 'uv.lock', '.python-version']);
    expect(c.prepare).toEqual(['uv', 'run', 'prepare.py']);
    expect(c.run).toEqual({
      default: ['uv', 'run', 'train.py'],
      win32: ['uv', 'run', 'python', '-X', 'utf8', 'train.py'],
    });
    expect(c.sync).toEqual({
      argv: ['uv', 'sync'],
      lockfile: 'uv.lock',
      envDirVar: 'UV_PROJECT_ENVIRONMENT',
      timeoutS: 1800,
    });
    expect(c.budgetS).toBe(300);
    expect(c.program).toBe('program.md');
    expect(c.origin).toEqual({ shape: 'autoresearch' });
    // What it writes is a valid ratchet.json as it stands.
    expect(TrackConfig.parse(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  it('gives the Apple-only forks no Windows override', () => {
    expect(detectTrack(SHAPES.mlx).config.run).toEqual({ default: ['uv', 'run', 'train.py'] });
    expect(detectTrack(SHAPES.macos).config.run.win32).toBeUndefined();
    expect(detectTrack(SHAPES.win).config.run.win32).toEqual([
      'uv',
      'run',
      'python',
      '-X',
      'utf8',
      'train.py',
    ]);
  });

  it('pins local modules that train.py and prepare.py import, transitively', () => {
    const s = snap({
      ...SHAPES.original.text,
      'model.py': 'from utils import x\n',
      'utils.py': '',
      'agent.py': 'import train\n',
      'train.py': `${SHAPES.original.text['train.py']}from model import GPT\n`,
    });
    expect(localImports(s, ['train.py', 'prepare.py'])).toEqual(['model.py', 'utils.py']);
    expect(detectTrack(s).config.pinned).toEqual([
      'prepare.py',
      'model.py',
      'utils.py',
      'pyproject.toml',
      'uv.lock',
      '.python-version',
    ]);
  });

  it('reads the budget from TIME_BUDGET and keeps the kill limit above it', () => {
    const s = snap({ ...SHAPES.mlx.text, 'prepare.py': 'TIME_BUDGET: int = 1200\n' });
    expect(readTimeBudget(s)).toBe(1200);
    expect(detectTrack(s).config).toMatchObject({ budgetS: 1200, hardTimeoutS: 1500 });
  });

  it('falls back to the worker interpreter without pyproject.toml, and says so', () => {
    const d = detectTrack(
      snap({ 'prepare.py': PREPARE, 'train.py': `from kernels import get_kernel\n${TRAIN}` }),
    );
    expect(d.config.sync).toBeNull();
    expect(d.config.run.default).toEqual(['python', 'train.py']);
    expect(d.warnings.join('\n')).toMatch(
      /no pyproject\.toml.*\n.*no program\.md|no program\.md[\s\S]*no pyproject/,
    );
  });

  it('takes a shape by name for a checkout whose markers are gone, and refuses an unknown name', () => {
    const bare = snap({ ...uvProject('"torch"'), 'prepare.py': PREPARE, 'train.py': TRAIN });
    expect(() => detectTrack(bare)).toThrow(expect.objectContaining({ code: ErrorCodes.TRACK_UNRECOGNISED }));
    const d = detectTrack(bare, { shape: 'autoresearch-mlx' });
    expect(d).toMatchObject({
      evidence: ['chosen with --shape'],
      config: { backends: ['mlx'], hardTimeoutS: 900 },
    });
    expect(() => detectTrack(bare, { shape: 'mlx' })).toThrow(/no shape named mlx \(known: autoresearch-mlx/);
  });

  it('takes --id, and rejects a bad one with a track error', () => {
    expect(detectTrack(SHAPES.cpu, { id: 'lab-cpu' }).config.id).toBe('lab-cpu');
    expect(() => detectTrack(SHAPES.cpu, { id: 'Bad Id' })).toThrow(/id/);
  });

  it('refuses an unknown layout with a coded error, what it looked for, and a template', () => {
    const s = snap({ 'train.py': 'import torch\n', 'prepare.py': PREPARE, 'README.md': '' });
    let err: unknown;
    try {
      detectTrack(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RatchetError);
    const e = err as RatchetError;
    expect(e.code).toBe(ErrorCodes.TRACK_UNRECOGNISED);
    for (const what of [
      'karpathy/autoresearch',
      'miolini/autoresearch-macos',
      'train.py imports mlx',
      'LOCALAPPDATA',
    ])
      expect(e.message).toContain(what);
    // The template is a valid ratchet.json as soon as it is saved.
    const t = TrackConfig.parse(e.details?.template);
    expect(t).toMatchObject({ editable: ['train.py'], pinned: ['prepare.py'], budgetS: 300 });
    expect(() => detectTrack(snap({ 'main.py': '' }))).toThrow(/train\.py and prepare\.py.*found: main\.py/);
  });
});

describe('markers', () => {
  it('match statement-level imports and named dependencies only', () => {
    expect(imports('import mlx.core as mx', 'mlx')).toBe(true);
    expect(imports('    from mlx.nn import Linear', 'mlx')).toBe(true);
    expect(imports('import mlxtend', 'mlx')).toBe(false);
    expect(imports('# we do not import mlx here', 'mlx')).toBe(false);
    expect(dependsOn('dependencies = ["mlx>=0.29"]', 'mlx')).toBe(true);
    expect(dependsOn('dependencies = ["mlx-lm"]', 'mlx')).toBe(false);
    expect(dependsOn("dependencies = ['kernels']", 'kernels')).toBe(true);
  });
});
