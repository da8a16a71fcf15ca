import { rm } from 'node:fs/promises';
import { ErrorCodes, hardwareClassOf } from '@ratchet/shared';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fakeToolsDir,
  nvidiaSmiOutput,
  pathWith,
  SYSCTL_M2,
  SYSTEM_PROFILER_M2,
  SYSTEM_PROFILER_M4_MAX,
} from '../../../test/support/fake-tools.ts';
import { detectHardware, parseNvidiaSmi, parseSysctl, parseSystemProfiler, visibleGpus } from './detect.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tools(t: Parameters<typeof fakeToolsDir>[0]) {
  const d = await fakeToolsDir(t);
  dirs.push(d);
  return { ...process.env, PATH: pathWith(d) };
}
/** A PATH on which no hardware tool exists. */
const NO_TOOLS = { ...process.env, PATH: '/nonexistent' };

describe('nvidia-smi', () => {
  it('parses the indexed query and the older name-and-memory one', () => {
    expect(parseNvidiaSmi(nvidiaSmiOutput(2))).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memoryMb: 81559,
        uuid: 'GPU-00000000-1c2d-4b6a-9f6e-1c2d3e4f5a6b',
      },
      {
        index: 1,
        name: 'NVIDIA H100 80GB HBM3',
        memoryMb: 81559,
        uuid: 'GPU-00000001-1c2d-4b6a-9f6e-1c2d3e4f5a6b',
      },
    ]);
    expect(parseNvidiaSmi('NVIDIA GeForce RTX 4090, 24564\r\n')).toEqual([
      { name: 'NVIDIA GeForce RTX 4090', memoryMb: 24564 },
    ]);
    expect(parseNvidiaSmi('0, NVIDIA L4, [N/A], GPU-x\n')[0]!.memoryMb).toBeNull();
  });

  it('names the cards of real nvidia-smi output (recorded on an H100 and an H200)', () => {
    const h100 = parseNvidiaSmi(
      '0, NVIDIA H100 80GB HBM3, 81559, GPU-d464cbd0-381a-9efe-ef84-17f7e936754e\n',
    );
    const h200 = parseNvidiaSmi('0, NVIDIA H200, 143771, GPU-399e4bc3-0474-9d80-cb77-5a865f106605\n');
    const cls = (gpus: ReturnType<typeof parseNvidiaSmi>) =>
      hardwareClassOf({
        backend: 'cuda',
        os: 'linux',
        arch: 'x64',
        cpuModel: 'x',
        cpuCores: 16,
        memoryGb: 125,
        gpus,
        chip: null,
      });
    expect(cls(h100)).toBe('cuda-h100-80g');
    expect(cls(h200)).toBe('cuda-h200-140g');
    expect(h200[0]).toMatchObject({ index: 0, uuid: 'GPU-399e4bc3-0474-9d80-cb77-5a865f106605' });
  });

  it('keeps only the GPUs CUDA_VISIBLE_DEVICES shows, in its order', () => {
    const gpus = parseNvidiaSmi(nvidiaSmiOutput(4));
    expect(visibleGpus(gpus, undefined).map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(visibleGpus(gpus, '3,1').map((g) => g.index)).toEqual([3, 1]);
    expect(visibleGpus(gpus, 'GPU-00000002').map((g) => g.index)).toEqual([2]);
    expect(visibleGpus(gpus, '')).toEqual([]);
    // CUDA ignores everything after an id it cannot resolve.
    expect(visibleGpus(gpus, '0,7,1').map((g) => g.index)).toEqual([0]);
  });

  it('detects a 4-GPU box through nvidia-smi on PATH and names one card per class', async () => {
    const env = await tools({ nvidiaSmi: nvidiaSmiOutput(4) });
    const p = await detectHardware({ env, platform: 'linux', arch: 'x64' });
    expect(p.backend).toBe('cuda');
    expect(p.backends).toEqual(['cuda']);
    expect(p.gpus.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(hardwareClassOf({ ...p, gpus: [p.gpus[0]!] })).toBe('cuda-h100-80g');
    const some = await detectHardware({ env, platform: 'linux', arch: 'x64', cudaVisibleDevices: '1,3' });
    expect(some.gpus.map((g) => g.index)).toEqual([1, 3]);
  });

  it('refuses --backend cuda without a GPU, saying why', async () => {
    await expect(
      detectHardware({ env: NO_TOOLS, backends: ['cuda'], platform: 'linux' }),
    ).rejects.toMatchObject({
      code: ErrorCodes.BACKEND_UNAVAILABLE,
      message: expect.stringContaining('nvidia-smi is not on PATH'),
    });
  });
});

describe('Apple Silicon', () => {
  it('reads chip, memory and GPU cores from system_profiler', () => {
    expect(parseSystemProfiler(SYSTEM_PROFILER_M4_MAX)).toEqual({
      chip: 'Apple M4 Max',
      memoryGb: 128,
      cpuCores: 16,
      gpuCores: 40,
    });
    expect(parseSystemProfiler(SYSTEM_PROFILER_M2)).toEqual({
      chip: 'Apple M2',
      memoryGb: 16,
      cpuCores: 8,
      gpuCores: 10,
    });
    expect(parseSysctl(SYSCTL_M2)).toEqual({ chip: 'Apple M2', memoryGb: 16, cpuCores: 8, gpuCores: null });
  });

  it('offers mps and mlx on a Mac and names both classes', async () => {
    const env = await tools({ systemProfiler: SYSTEM_PROFILER_M4_MAX });
    const p = await detectHardware({ env, platform: 'darwin', arch: 'arm64' });
    expect(p.backends).toEqual(['mps', 'mlx']);
    expect(p.chip).toBe('Apple M4 Max');
    expect(hardwareClassOf(p)).toBe('mps-m4max-128g');
    expect(hardwareClassOf(p, 'mlx')).toBe('mlx-m4max-128g');
    const mlxOnly = await detectHardware({ env, platform: 'darwin', arch: 'arm64', backends: ['mlx'] });
    expect(hardwareClassOf(mlxOnly)).toBe('mlx-m4max-128g');
  });

  it('falls back to sysctl when system_profiler is missing', async () => {
    const env = await tools({ sysctl: SYSCTL_M2 });
    const p = await detectHardware({ env, platform: 'darwin', arch: 'arm64', backends: ['mlx'] });
    expect(hardwareClassOf(p)).toBe('mlx-m2-16g');
  });

  it('refuses mps on a machine that is not Apple Silicon', async () => {
    await expect(
      detectHardware({ env: NO_TOOLS, backends: ['mps'], platform: 'linux', arch: 'x64' }),
    ).rejects.toMatchObject({
      code: ErrorCodes.BACKEND_UNAVAILABLE,
    });
  });
});

describe('this machine', () => {
  it('is a CPU worker without GPU tools', async () => {
    const p = await detectHardware({ env: NO_TOOLS });
    expect(p.backend).toBe('cpu');
    expect(p.cpuCores).toBeGreaterThan(0);
    expect(hardwareClassOf(p)).toMatch(/^cpu-[a-z0-9-]+-\d+c$/);
  });
});
