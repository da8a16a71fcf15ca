/** Hardware detection: NVIDIA through nvidia-smi, Apple Silicon, otherwise the CPU. */
import { execFile } from 'node:child_process';
import { arch, cpus, platform, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { Backend, HardwareProfile } from '@ratchet/shared';

const run = promisify(execFile);

async function tryRun(cmd: string, args: string[]): Promise<string | null> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 10_000, windowsHide: true });
    return stdout;
  } catch {
    return null;
  }
}

export function parseNvidiaSmi(out: string): { name: string; memoryMb: number | null }[] {
  return out
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name, mem] = l.split(',').map((s) => s.trim());
      const m = Number(mem);
      return { name: name ?? 'unknown', memoryMb: Number.isFinite(m) ? m : null };
    });
}

export async function detectHardware(opts: { backend?: Backend } = {}): Promise<HardwareProfile> {
  const cpuList = cpus();
  const base = {
    os: platform(),
    arch: arch(),
    cpuModel: (cpuList[0]?.model ?? 'unknown').trim(),
    cpuCores: Math.max(1, cpuList.length),
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    gpus: [] as { name: string; memoryMb: number | null }[],
    chip: null as string | null,
  };
  if (opts.backend === 'cpu') return { ...base, backend: 'cpu' };
  const smi = await tryRun('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits']);
  if (smi && (opts.backend === undefined || opts.backend === 'cuda')) {
    const gpus = parseNvidiaSmi(smi);
    if (gpus.length > 0) return { ...base, backend: 'cuda', gpus };
  }
  if (base.os === 'darwin' && base.arch === 'arm64') {
    const chip = (await tryRun('sysctl', ['-n', 'machdep.cpu.brand_string']))?.trim() || base.cpuModel;
    return { ...base, backend: opts.backend === 'mlx' ? 'mlx' : 'mps', chip };
  }
  return { ...base, backend: 'cpu' };
}
