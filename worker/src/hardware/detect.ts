/**
 * Hardware detection: NVIDIA GPUs through nvidia-smi, Apple Silicon through system_profiler
 * (sysctl as a fallback), otherwise the CPU. The commands are looked up on PATH, so tests
 * put recorded outputs of the real tools there.
 */
import { execFile } from 'node:child_process';
import { arch, cpus, platform, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { type Backend, ErrorCodes, type GpuInfo, type HardwareProfile, RatchetError } from '@ratchet/shared';

const run = promisify(execFile);

/** What the worker asks nvidia-smi: one CSV line per GPU, `0, NVIDIA H100 80GB HBM3, 81559, GPU-…`. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total,uuid', '--format=csv,noheader,nounits'];

export type CommandRunner = (cmd: string, args: string[]) => Promise<string | null>;

function defaultRunner(env: NodeJS.ProcessEnv): CommandRunner {
  return async (cmd, args) => {
    try {
      const { stdout } = await run(cmd, args, { timeout: 15_000, windowsHide: true, env });
      return stdout;
    } catch {
      return null;
    }
  };
}

/**
 * nvidia-smi's CSV: `index, name, memory.total[, uuid]` (what the worker asks), or
 * `name, memory.total` (the older query some scripts still use).
 */
export function parseNvidiaSmi(out: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of out.split(/\r?\n/)) {
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 2 || f[0] === '') continue;
    const indexed = f.length >= 3 && /^\d+$/.test(f[0]!);
    const [name, mem] = indexed ? [f[1]!, f[2]] : [f[0]!, f[1]];
    const m = Number(mem);
    const g: GpuInfo = { name, memoryMb: mem !== undefined && Number.isFinite(m) && mem !== '' ? m : null };
    if (indexed) g.index = Number(f[0]);
    if (indexed && f[3]?.startsWith('GPU-')) g.uuid = f[3];
    gpus.push(g);
  }
  return gpus;
}

/**
 * The GPUs a CUDA_VISIBLE_DEVICES value leaves visible (indices or `GPU-` uuids, in its
 * order); every GPU when unset. An empty value hides them all, as CUDA does.
 */
export function visibleGpus(gpus: GpuInfo[], cudaVisible: string | undefined): GpuInfo[] {
  if (cudaVisible === undefined) return gpus;
  const out: GpuInfo[] = [];
  for (const id of cudaVisible.split(',').map((s) => s.trim())) {
    if (id === '') continue;
    const g = /^\d+$/.test(id)
      ? gpus.find((x, i) => (x.index ?? i) === Number(id))
      : gpus.find((x) => x.uuid?.startsWith(id));
    // CUDA stops at the first id it cannot resolve.
    if (!g) break;
    if (!out.includes(g)) out.push(g);
  }
  return out;
}

export interface AppleInfo {
  chip: string | null;
  memoryGb: number | null;
  cpuCores: number | null;
  gpuCores: number | null;
}

/** `system_profiler SPHardwareDataType SPDisplaysDataType` as macOS prints it. */
export function parseSystemProfiler(out: string): AppleInfo {
  const field = (re: RegExp) => re.exec(out)?.[1]?.trim() ?? null;
  const mem = field(/^\s*Memory:\s*([\d.]+)\s*GB/m);
  const tb = field(/^\s*Memory:\s*([\d.]+)\s*TB/m);
  const cores = field(/^\s*Total Number of Cores:\s*(\d+)\s*\(/m);
  // The GPU's core count is the "Total Number of Cores" inside the Chipset Model block.
  const gpu = /Chipset Model:[^\n]*\n(?:[^\n]*\n)*?\s*Total Number of Cores:\s*(\d+)/.exec(out)?.[1];
  return {
    chip: field(/^\s*Chip:\s*(.+)$/m),
    memoryGb: mem !== null ? Number(mem) : tb !== null ? Number(tb) * 1024 : null,
    cpuCores: cores !== null ? Number(cores) : null,
    gpuCores: gpu !== undefined ? Number(gpu) : null,
  };
}

/** `sysctl -n machdep.cpu.brand_string hw.memsize hw.ncpu`: three lines. */
export function parseSysctl(out: string): AppleInfo {
  const [brand, memsize, ncpu] = out.split(/\r?\n/).map((s) => s.trim());
  const bytes = Number(memsize);
  return {
    chip: brand || null,
    memoryGb: Number.isFinite(bytes) && bytes > 0 ? Math.round(bytes / 1024 ** 3) : null,
    cpuCores: ncpu && /^\d+$/.test(ncpu) ? Number(ncpu) : null,
    gpuCores: null,
  };
}

export interface DetectOptions {
  /** Backends the owner asked for (`--backend`); each must be present. Default: what the machine has. */
  backends?: Backend[];
  /** @deprecated one backend; same as `backends: [backend]`. */
  backend?: Backend;
  /** CUDA_VISIBLE_DEVICES of the worker: only these GPUs are offered. */
  cudaVisibleDevices?: string;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Environment for the probes (its PATH finds nvidia-smi, system_profiler, sysctl). */
  env?: NodeJS.ProcessEnv;
  runCommand?: CommandRunner;
}

async function appleInfo(runCmd: CommandRunner): Promise<AppleInfo> {
  const sp = await runCmd('system_profiler', [
    '-detailLevel',
    'mini',
    'SPHardwareDataType',
    'SPDisplaysDataType',
  ]);
  const info = sp ? parseSystemProfiler(sp) : null;
  if (info?.chip && info.memoryGb) return info;
  const sc = await runCmd('sysctl', ['-n', 'machdep.cpu.brand_string', 'hw.memsize', 'hw.ncpu']);
  const fallback = sc ? parseSysctl(sc) : { chip: null, memoryGb: null, cpuCores: null, gpuCores: null };
  return {
    chip: info?.chip ?? fallback.chip,
    memoryGb: info?.memoryGb ?? fallback.memoryGb,
    cpuCores: info?.cpuCores ?? fallback.cpuCores,
    gpuCores: info?.gpuCores ?? null,
  };
}

export async function detectHardware(opts: DetectOptions = {}): Promise<HardwareProfile> {
  const env = opts.env ?? process.env;
  const runCmd = opts.runCommand ?? defaultRunner(env);
  const os = opts.platform ?? platform();
  const cpuArch = opts.arch ?? arch();
  const cpuList = cpus();
  const wanted = opts.backends ?? (opts.backend ? [opts.backend] : undefined);
  const profile: HardwareProfile = {
    backend: 'cpu',
    os,
    arch: cpuArch,
    cpuModel: (cpuList[0]?.model ?? 'unknown').trim(),
    cpuCores: Math.max(1, cpuList.length),
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    gpus: [],
    chip: null,
  };
  const have: Backend[] = [];
  const why: Partial<Record<Backend, string>> = {};
  const wantsOnlyCpu = wanted?.every((b) => b === 'cpu') ?? false;
  if (!wantsOnlyCpu) {
    const smi = await runCmd('nvidia-smi', NVIDIA_SMI_ARGS);
    const gpus = visibleGpus(smi ? parseNvidiaSmi(smi) : [], opts.cudaVisibleDevices);
    if (gpus.length > 0) {
      profile.gpus = gpus;
      have.push('cuda');
    } else
      why.cuda = smi
        ? 'nvidia-smi lists no GPU visible to this worker (CUDA_VISIBLE_DEVICES?)'
        : 'nvidia-smi is not on PATH or failed';
    if (os === 'darwin' && cpuArch === 'arm64') {
      const a = await appleInfo(runCmd);
      profile.chip = a.chip ?? profile.cpuModel;
      if (a.memoryGb) profile.memoryGb = a.memoryGb;
      if (a.cpuCores) profile.cpuCores = a.cpuCores;
      profile.gpus = [
        ...profile.gpus,
        { name: profile.chip, memoryMb: null, ...(a.gpuCores ? { cores: a.gpuCores } : {}) },
      ];
      have.push('mps', 'mlx');
    } else why.mps = why.mlx = `Apple Silicon only (this is ${os}/${cpuArch})`;
  }
  have.push('cpu');
  let backends: Backend[];
  if (wanted) {
    const missing = wanted.filter((b) => !have.includes(b));
    if (missing.length > 0) {
      throw new RatchetError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        `backend ${missing.map((b) => `${b} unavailable: ${why[b] ?? 'not detected'}`).join('; ')}; this machine has ${have.join(', ')}`,
      );
    }
    backends = wanted;
  } else if (have.includes('cuda')) backends = ['cuda'];
  else if (have.includes('mps')) backends = ['mps', 'mlx'];
  else backends = ['cpu'];
  // A CUDA worker's GPUs are its slots; Apple's entry only describes the chip.
  if (!backends.includes('cuda')) profile.gpus = profile.gpus.filter((g) => g.index === undefined);
  return { ...profile, backend: backends[0]!, backends };
}
