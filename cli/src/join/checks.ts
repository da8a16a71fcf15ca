/**
 * What a volunteer's machine needs before it joins: Python, PyTorch or MLX, free disk, a
 * working sandbox; the GPU is reported, not required. Each check says exactly what is
 * missing and the command that installs it on this platform. The verdict is pure.
 */
import { execFile } from 'node:child_process';
import { mkdir, statfs } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PythonProbe {
  version: string;
  torch: string | null;
  cuda: boolean;
  cudaDevices: string[];
  mps: boolean;
  mlx: string | null;
}

export interface MachineFacts {
  platform: NodeJS.Platform;
  python: { path: string; probe: PythonProbe | null; error: string | null };
  freeDiskBytes: number | null;
  sandbox: { ok: boolean; detail: string };
  debianLike: boolean;
}

export interface Check {
  name: string;
  ok: boolean;
  /** A failed check that stops the join (the GPU, say, is only reported). */
  required: boolean;
  detail: string;
  fix: string | null;
}

const GiB = 1024 ** 3;
export const MIN_FREE_DISK_BYTES = 5 * GiB;

function installPython(f: MachineFacts): string {
  if (f.platform === 'darwin') return 'brew install python@3.12';
  if (f.platform === 'win32') return 'winget install Python.Python.3.12';
  return f.debianLike ? 'sudo apt-get install python3' : 'install Python 3.10+ with your package manager';
}

function installTorch(f: MachineFacts): string {
  if (f.platform === 'darwin')
    return `${f.python.path} -m pip install torch   (or: ${f.python.path} -m pip install mlx)`;
  if (f.platform === 'linux' && f.debianLike)
    return `sudo apt-get install python3-torch libopenblas0-pthread   (or: ${f.python.path} -m pip install torch)`;
  return `${f.python.path} -m pip install torch   (CUDA builds: https://pytorch.org/get-started/locally/)`;
}

export function evaluate(f: MachineFacts): Check[] {
  const checks: Check[] = [];
  const p = f.python.probe;
  checks.push({
    name: 'Python',
    ok: p !== null,
    required: true,
    detail: p
      ? `${f.python.path} (Python ${p.version})`
      : `${f.python.path}: ${f.python.error ?? 'not found'}`,
    fix: p ? null : `${installPython(f)}, or pass --python PATH`,
  });
  const framework = p?.torch ? `PyTorch ${p.torch}` : p?.mlx ? `MLX ${p.mlx}` : null;
  checks.push({
    name: 'PyTorch or MLX',
    ok: framework !== null,
    required: true,
    detail: framework ?? (p ? `neither torch nor mlx imports in ${f.python.path}` : 'no Python to ask'),
    fix: framework ? null : installTorch(f),
  });
  const gpu = p?.cuda
    ? `CUDA: ${p.cudaDevices.join(', ') || 'available'}`
    : p?.mps
      ? 'Apple GPU (MPS)'
      : p?.mlx
        ? 'Apple GPU (MLX)'
        : null;
  checks.push({
    name: 'GPU',
    ok: gpu !== null,
    required: false,
    detail: gpu ?? 'none usable: this machine joins as a CPU worker',
    fix: gpu
      ? null
      : f.platform === 'darwin'
        ? 'a torch build with MPS (pip install torch) uses the Apple GPU'
        : 'with an NVIDIA GPU: install the driver and a CUDA build of torch (https://pytorch.org/get-started/locally/)',
  });
  const free = f.freeDiskBytes;
  checks.push({
    name: 'Free disk',
    ok: free === null || free >= MIN_FREE_DISK_BYTES,
    required: true,
    detail: free === null ? 'unknown' : `${(free / GiB).toFixed(1)} GiB free for caches`,
    fix:
      free !== null && free < MIN_FREE_DISK_BYTES
        ? `free at least ${MIN_FREE_DISK_BYTES / GiB} GiB, or point XDG_CACHE_HOME at a bigger disk`
        : null,
  });
  checks.push({
    name: 'Sandbox',
    ok: f.sandbox.ok,
    required: true,
    detail: f.sandbox.detail,
    fix: f.sandbox.ok
      ? null
      : f.platform === 'linux'
        ? `${f.debianLike ? 'sudo apt-get install bubblewrap' : 'install bubblewrap'}; if it is installed, enable user namespaces (see the detail)`
        : 'see the README section "Volunteer" for this platform',
  });
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    const mark = c.ok ? 'ok     ' : c.required ? 'MISSING' : 'note   ';
    lines.push(`  ${mark} ${c.name.padEnd(15)} ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`          ${''.padEnd(15)} → ${c.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

const PROBE = [
  'import json, platform',
  'r = {"version": platform.python_version(), "torch": None, "cuda": False, "cudaDevices": [], "mps": False, "mlx": None}',
  'try:',
  '    import torch',
  '    r["torch"] = torch.__version__',
  '    r["cuda"] = bool(torch.cuda.is_available())',
  '    if r["cuda"]: r["cudaDevices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]',
  '    mps = getattr(torch.backends, "mps", None)',
  '    r["mps"] = bool(mps and mps.is_available())',
  'except Exception:',
  '    pass',
  'try:',
  '    import mlx.core as mx',
  '    r["mlx"] = getattr(mx, "__version__", "installed")',
  'except Exception:',
  '    pass',
  'print(json.dumps(r))',
].join('\n');

export async function probePython(
  python: string,
): Promise<{ probe: PythonProbe | null; error: string | null }> {
  try {
    const { stdout } = await run(python, ['-c', PROBE], { timeout: 120_000, windowsHide: true });
    return { probe: JSON.parse(stdout.trim().split('\n').pop() ?? '') as PythonProbe, error: null };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return {
      probe: null,
      error: err.code === 'ENOENT' ? 'not found' : (err.message.split('\n')[0] ?? 'fails'),
    };
  }
}

export async function freeDisk(dir: string): Promise<number | null> {
  try {
    await mkdir(dir, { recursive: true });
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
