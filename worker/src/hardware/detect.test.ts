import { type HardwareProfile, hardwareClassOf } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { detectHardware, parseNvidiaSmi } from './detect.ts';

const base: HardwareProfile = {
  backend: 'cpu',
  os: 'linux',
  arch: 'x64',
  cpuModel: 'AMD EPYC 7B13',
  cpuCores: 2,
  memoryGb: 24,
  gpus: [],
  chip: null,
};

describe('hardware', () => {
  it('parses nvidia-smi as seen on an H100 and names its class', () => {
    const gpus = parseNvidiaSmi('NVIDIA H100 80GB HBM3, 81559\n');
    expect(gpus).toEqual([{ name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 }]);
    expect(hardwareClassOf({ ...base, backend: 'cuda', gpus })).toBe('cuda-h100-80gb-hbm3');
    expect(hardwareClassOf({ ...base, backend: 'cuda', gpus: [...gpus, ...gpus] })).toBe(
      'cuda-h100-80gb-hbm3-x2',
    );
    expect(
      hardwareClassOf({ ...base, backend: 'cuda', gpus: parseNvidiaSmi('NVIDIA GeForce RTX 4090, 24564') }),
    ).toBe('cuda-rtx-4090');
  });

  it('names Apple and CPU classes', () => {
    expect(hardwareClassOf({ ...base, backend: 'mps', arch: 'arm64', chip: 'Apple M4 Max' })).toBe(
      'mps-apple-m4-max',
    );
    expect(hardwareClassOf(base)).toBe('cpu-x64-amd-epyc-7b13-2c');
  });

  it('detects this machine', async () => {
    const p = await detectHardware({ backend: 'cpu' });
    expect(p.backend).toBe('cpu');
    expect(p.cpuCores).toBeGreaterThan(0);
    expect(hardwareClassOf(p)).toMatch(/^cpu-[a-z0-9-]+-\d+c$/);
  });
});
