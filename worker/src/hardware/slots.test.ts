import { type HardwareProfile, hardwareClassOf } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { nvidiaSmiOutput } from '../../../test/support/fake-tools.ts';
import { parseNvidiaSmi, visibleGpus } from './detect.ts';
import { planSlots } from './slots.ts';

const box = (gpus: HardwareProfile['gpus']): HardwareProfile => ({
  backend: 'cuda',
  backends: ['cuda'],
  os: 'linux',
  arch: 'x64',
  cpuModel: 'AMD EPYC 9654',
  cpuCores: 96,
  memoryGb: 1024,
  gpus,
  chip: null,
});

describe('slots', () => {
  it('gives a 4-GPU box four slots, each pinned to its own card and named for one card', () => {
    const slots = planSlots(box(parseNvidiaSmi(nvidiaSmiOutput(4))), 'lab');
    expect(slots.map((s) => s.name)).toEqual(['lab-gpu0', 'lab-gpu1', 'lab-gpu2', 'lab-gpu3']);
    expect(slots.map((s) => s.env.CUDA_VISIBLE_DEVICES)).toEqual(['0', '1', '2', '3']);
    expect(new Set(slots.map((s) => s.env.CUDA_DEVICE_ORDER))).toEqual(new Set(['PCI_BUS_ID']));
    expect(slots.map((s) => hardwareClassOf(s.profile))).toEqual(Array(4).fill('cuda-h100-80g'));
  });

  it('keeps the physical index of the GPUs left visible', () => {
    const gpus = visibleGpus(parseNvidiaSmi(nvidiaSmiOutput(4)), '1,3');
    expect(planSlots(box(gpus), 'lab').map((s) => s.env.CUDA_VISIBLE_DEVICES)).toEqual(['1', '3']);
  });

  it('names each slot of a mixed box by its own card', () => {
    const gpus = parseNvidiaSmi(
      '0, NVIDIA GeForce RTX 4090, 24564, GPU-a\n1, NVIDIA GeForce RTX 3090, 24576, GPU-b\n',
    );
    expect(planSlots(box(gpus), 'pc').map((s) => hardwareClassOf(s.profile))).toEqual([
      'cuda-rtx4090-24g',
      'cuda-rtx3090-24g',
    ]);
  });

  it('pins a single GPU and leaves CPU and Apple workers as one slot', () => {
    const one = planSlots(box(parseNvidiaSmi(nvidiaSmiOutput(1))), 'pc');
    expect(one).toHaveLength(1);
    expect(one[0]!.name).toBe('pc');
    expect(one[0]!.env.CUDA_VISIBLE_DEVICES).toBe('0');
    const cpu = planSlots({ ...box([]), backend: 'cpu', backends: ['cpu'] }, 'pc');
    expect(cpu).toEqual([{ name: 'pc', profile: expect.anything(), env: {} }]);
  });
});
