import { describe, expect, it } from 'vitest';
import { backendsOf, type HardwareProfile, hardwareClassOf, modelSlug } from './hardware.ts';

const cpuBox: HardwareProfile = {
  backend: 'cpu',
  os: 'linux',
  arch: 'x64',
  cpuModel: 'AMD EPYC 7B13',
  cpuCores: 2,
  memoryGb: 24,
  gpus: [],
  chip: null,
};
const gpu = (name: string, memoryMb: number | null) => ({
  ...cpuBox,
  backend: 'cuda' as const,
  gpus: [{ name, memoryMb }],
});

describe('hardware classes', () => {
  it('name NVIDIA cards by model and memory, as nvidia-smi reports them', () => {
    expect(hardwareClassOf(gpu('NVIDIA H100 80GB HBM3', 81559))).toBe('cuda-h100-80g');
    expect(hardwareClassOf(gpu('NVIDIA GeForce RTX 4090', 24564))).toBe('cuda-rtx4090-24g');
    expect(hardwareClassOf(gpu('NVIDIA H100 PCIe', 81559))).toBe('cuda-h100-pcie-80g');
    expect(hardwareClassOf(gpu('NVIDIA A100-SXM4-40GB', 40960))).toBe('cuda-a100-sxm4-40g');
    expect(hardwareClassOf(gpu('NVIDIA A100-SXM4-80GB', 81920))).toBe('cuda-a100-sxm4-80g');
    expect(hardwareClassOf(gpu('NVIDIA GeForce RTX 3060 Laptop GPU', 6144))).toBe('cuda-rtx3060-laptop-6g');
    expect(hardwareClassOf(gpu('NVIDIA GeForce GTX 1080 Ti', 11264))).toBe('cuda-gtx1080ti-11g');
    expect(hardwareClassOf(gpu('NVIDIA RTX A6000', 49140))).toBe('cuda-rtxa6000-48g');
    expect(hardwareClassOf(gpu('NVIDIA GeForce RTX 4080 SUPER', 16376))).toBe('cuda-rtx4080super-16g');
    expect(hardwareClassOf(gpu('Tesla V100-SXM2-16GB', 16384))).toBe('cuda-v100-sxm2-16g');
    // Memory unknown: the model alone.
    expect(hardwareClassOf(gpu('NVIDIA L4', null))).toBe('cuda-l4');
  });

  it('tell cards of one model with different memory apart', () => {
    expect(hardwareClassOf(gpu('NVIDIA A100-PCIE-40GB', 40960))).not.toBe(
      hardwareClassOf(gpu('NVIDIA A100 80GB PCIe', 81920)),
    );
  });

  it('count the cards when one job uses several', () => {
    const two = { ...gpu('NVIDIA H100 80GB HBM3', 81559) };
    two.gpus = [...two.gpus, ...two.gpus];
    expect(hardwareClassOf(two)).toBe('cuda-h100-80g-x2');
  });

  it('name Apple Silicon by chip and unified memory, per backend', () => {
    const mac: HardwareProfile = {
      ...cpuBox,
      os: 'darwin',
      arch: 'arm64',
      backend: 'mps',
      backends: ['mps', 'mlx'],
      chip: 'Apple M4 Max',
      cpuModel: 'Apple M4 Max',
      cpuCores: 16,
      memoryGb: 128,
    };
    expect(hardwareClassOf(mac)).toBe('mps-m4max-128g');
    expect(hardwareClassOf(mac, 'mlx')).toBe('mlx-m4max-128g');
    expect(hardwareClassOf({ ...mac, chip: 'Apple M2', memoryGb: 16 }, 'mlx')).toBe('mlx-m2-16g');
    expect(hardwareClassOf({ ...mac, chip: 'Apple M3 Pro', memoryGb: 36 })).toBe('mps-m3pro-36g');
    expect(hardwareClassOf({ ...mac, chip: 'Apple M1 Ultra', memoryGb: 64 })).toBe('mps-m1ultra-64g');
  });

  it('name CPUs by architecture, model and core count', () => {
    expect(hardwareClassOf(cpuBox)).toBe('cpu-x64-amd-epyc-7b13-2c');
    expect(hardwareClassOf({ ...cpuBox, cpuCores: 64 })).toBe('cpu-x64-amd-epyc-7b13-64c');
    expect(
      hardwareClassOf({ ...cpuBox, cpuModel: 'Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz', cpuCores: 32 }),
    ).toBe('cpu-x64-intel-core-i9-13900k-32c');
  });

  it('use an owner-given class as is, on every backend', () => {
    const p = { ...gpu('NVIDIA H100 80GB HBM3', 81559), classOverride: 'lab-h100' };
    expect(hardwareClassOf(p)).toBe('lab-h100');
    expect(hardwareClassOf(p, 'cpu')).toBe('lab-h100');
  });

  it('list the preferred backend first', () => {
    expect(backendsOf({ backend: 'mlx', backends: ['mps', 'mlx'] })).toEqual(['mlx', 'mps']);
    expect(backendsOf({ backend: 'cpu' })).toEqual(['cpu']);
  });

  it('slug model names without vendor words', () => {
    expect(modelSlug('NVIDIA RTX 6000 Ada Generation')).toBe('rtx6000-ada');
    expect(modelSlug('Apple M4 Max')).toBe('m4max');
  });
});
