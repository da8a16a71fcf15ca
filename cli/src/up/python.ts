/** Finding a Python interpreter that has PyTorch, for the local worker. */
import { spawnSync } from 'node:child_process';

export function findTorchPython(preferred: string | undefined): { python: string; torch: string } | null {
  const candidates = [preferred, process.env.RATCHET_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter(
    (c): c is string => Boolean(c),
  );
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status === 0) return { python: py, torch: r.stdout.trim() };
  }
  return null;
}

export const INSTALL_TORCH =
  'no Python with PyTorch found. Debian/Ubuntu: apt-get install python3-torch libopenblas0-pthread; elsewhere: pip install torch (or pass --python PATH).';
