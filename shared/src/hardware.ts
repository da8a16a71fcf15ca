/** Hardware profiles and class names: results are only comparable inside a class. */
import { z } from 'zod';
import { Backend } from './track.ts';

export const GpuInfo = z.object({ name: z.string().max(200), memoryMb: z.number().nonnegative().nullable() });

export const HardwareProfile = z.object({
  backend: Backend,
  os: z.string().max(40),
  arch: z.string().max(40),
  cpuModel: z.string().max(200),
  cpuCores: z.number().int().positive(),
  memoryGb: z.number().nonnegative(),
  gpus: z.array(GpuInfo).max(64),
  /** Apple chip name (e.g. "Apple M4 Max") when on Apple Silicon. */
  chip: z.string().max(100).nullable().default(null),
});
export type HardwareProfile = z.infer<typeof HardwareProfile>;

export const HardwareClass = z.string().regex(/^[a-z0-9][a-z0-9-]{0,80}$/);

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|nvidia|geforce|corporation|processor|cpu|@.*$/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/**
 * The class a profile belongs to. GPU classes name the card (count included, since a
 * budget on two cards is a different experiment); CPU classes name the model and the core
 * count, since a 300 s budget on 2 cores and on 64 cores gives different numbers.
 */
export function hardwareClassOf(p: HardwareProfile): string {
  if (p.backend === 'cuda' && p.gpus.length > 0) {
    const name = slug(p.gpus[0]!.name) || 'gpu';
    return p.gpus.length > 1 ? `cuda-${name}-x${p.gpus.length}` : `cuda-${name}`;
  }
  if (p.backend === 'mps' || p.backend === 'mlx')
    return `${p.backend}-${slug(p.chip ?? p.cpuModel) || 'apple'}`;
  return `cpu-${slug(p.arch)}-${slug(p.cpuModel) || 'generic'}-${p.cpuCores}c`;
}
