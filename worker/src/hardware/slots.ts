/**
 * Slots: one per device, so a multi-GPU box runs one job per GPU at once and never two on
 * one GPU. Each slot registers as its own worker with a one-GPU profile (so its class is
 * `cuda-h100-80g`, not the box's) and pins its runs with CUDA_VISIBLE_DEVICES. nvidia-smi
 * numbers GPUs in PCI bus order while CUDA defaults to fastest-first, so the slot also sets
 * CUDA_DEVICE_ORDER=PCI_BUS_ID: index i is then the same card for both.
 */
import type { HardwareProfile } from '@ratchet/shared';

export interface Slot {
  /** Worker name: the box's name, plus `-gpuN` on a multi-GPU box. */
  name: string;
  profile: HardwareProfile;
  env: Record<string, string>;
}

export function planSlots(profile: HardwareProfile, name: string): Slot[] {
  const cudaGpus = profile.backend === 'cuda' ? profile.gpus.filter((g) => g.index !== undefined) : [];
  if (cudaGpus.length === 0) return [{ name, profile, env: {} }];
  return cudaGpus.map((g) => ({
    name: cudaGpus.length > 1 ? `${name}-gpu${g.index}` : name,
    profile: { ...profile, gpus: [g] },
    env: { CUDA_VISIBLE_DEVICES: String(g.index), CUDA_DEVICE_ORDER: 'PCI_BUS_ID' },
  }));
}
