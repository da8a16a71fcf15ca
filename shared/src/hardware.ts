/** Hardware profiles and class names: results are only comparable inside a class. */
import { z } from 'zod';
import { Backend } from './track.ts';

export const GpuInfo = z.object({
  name: z.string().max(200),
  memoryMb: z.number().nonnegative().nullable(),
  /** nvidia-smi's index (PCI bus order), the device a slot pins with CUDA_VISIBLE_DEVICES. */
  index: z.number().int().nonnegative().optional(),
  uuid: z.string().max(100).optional(),
  /** GPU cores (Apple Silicon, from system_profiler). */
  cores: z.number().int().positive().optional(),
});
export type GpuInfo = z.infer<typeof GpuInfo>;

export const HardwareClass = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,80}$/, 'a hardware class: lower-case letters, digits and dashes');

export const HardwareProfile = z.object({
  /** The preferred backend; `backends` lists every one the machine has (a Mac: mps and mlx). */
  backend: Backend,
  backends: z.array(Backend).min(1).max(4).optional(),
  os: z.string().max(40),
  arch: z.string().max(40),
  cpuModel: z.string().max(200),
  cpuCores: z.number().int().positive(),
  memoryGb: z.number().nonnegative(),
  gpus: z.array(GpuInfo).max(64),
  /** Apple chip name (e.g. "Apple M4 Max") when on Apple Silicon. */
  chip: z.string().max(100).nullable().default(null),
  /** Set by the owner (`--hardware-class`, RATCHET_HARDWARE_CLASS): used as is for every backend. */
  classOverride: HardwareClass.optional(),
});
export type HardwareProfile = z.infer<typeof HardwareProfile>;

/** Every backend a profile offers, preferred first. */
export function backendsOf(p: Pick<HardwareProfile, 'backend' | 'backends'>): Backend[] {
  const list = p.backends ?? [p.backend];
  return list.includes(p.backend)
    ? [p.backend, ...list.filter((b) => b !== p.backend)]
    : [p.backend, ...list];
}

const NOISE_WORDS =
  /\b(nvidia|geforce|tesla|quadro|corporation|graphics|generation|apple|processor|cpu|gpu)\b/g;
/** Series words glued to what follows: "RTX 4090" → rtx4090, "M4 Max" → m4max. */
const GLUE_BEFORE = new Set(['rtx', 'gtx', 'titan']);
const GLUE_AFTER = new Set(['ti', 'super', 'max', 'pro', 'ultra']);

/**
 * A compact model name: vendor words, memory sizes and memory types dropped, series words
 * glued ("NVIDIA H100 80GB HBM3" → h100, "NVIDIA GeForce RTX 4090" → rtx4090,
 * "NVIDIA A100-SXM4-40GB" → a100-sxm4, "Apple M4 Max" → m4max). Form factors (pcie, sxm4,
 * laptop) stay: they run at different speeds.
 */
export function modelSlug(name: string): string {
  const tokens = name
    .toLowerCase()
    .replace(/\(r\)|\(tm\)/g, ' ')
    .replace(NOISE_WORDS, ' ')
    .replace(/\b\d+\s*gb\b/g, ' ')
    .replace(/\b(hbm\d*e?|gddr\d+x?)\b/g, ' ')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const out: string[] = [];
  for (const t of tokens) {
    const prev = out[out.length - 1];
    if (prev !== undefined && (GLUE_BEFORE.has(prev) || GLUE_AFTER.has(t))) out[out.length - 1] = prev + t;
    else out.push(t);
  }
  return out.join('-').slice(0, 40).replace(/-+$/, '');
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|nvidia|geforce|corporation|processor|cpu|@.*$/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/** Memory in whole GiB as a class suffix: 81559 MiB → "80g", 24564 MiB → "24g". */
function gib(mb: number | null): string {
  return mb === null || mb <= 0 ? '' : `-${Math.round(mb / 1024)}g`;
}

/**
 * The class a profile belongs to on one backend. GPU classes name the card and its memory
 * (`cuda-h100-80g`, `cuda-rtx4090-24g`; `-x2` when one job uses two cards); Apple classes
 * the chip and its unified memory (`mps-m4max-128g`, `mlx-m2-16g`); CPU classes the model
 * and the core count, since a 300 s budget on 2 cores and on 64 cores gives different numbers.
 */
export function hardwareClassOf(p: HardwareProfile, backend: Backend = p.backend): string {
  if (p.classOverride) return p.classOverride;
  if (backend === 'cuda') {
    const g = p.gpus[0];
    if (!g) return 'cuda-gpu';
    const name = `cuda-${modelSlug(g.name) || 'gpu'}${gib(g.memoryMb)}`;
    return p.gpus.length > 1 ? `${name}-x${p.gpus.length}` : name;
  }
  if (backend === 'mps' || backend === 'mlx') {
    const chip = modelSlug(p.chip ?? p.cpuModel) || 'apple';
    return `${backend}-${chip}${gib(p.memoryGb * 1024)}`;
  }
  return `cpu-${slug(p.arch)}-${slug(p.cpuModel) || 'generic'}-${p.cpuCores}c`;
}
