/** `ratchet worker` on any machine: its backends, its class, and one slot per GPU. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Backend, ErrorCodes, HardwareClass, RatchetError } from '@ratchet/shared';
import { cacheDirFor, detectHardware, planSlots, type Slot } from '@ratchet/worker';

/** `--backend cuda` or `--backend mps,mlx`: the backends to offer, preferred first. */
export function parseBackends(v: string | undefined): Backend[] | undefined {
  if (v === undefined) return undefined;
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((b) => !Backend.safeParse(b).success);
  if (list.length === 0 || bad.length > 0)
    throw new RatchetError(
      ErrorCodes.BAD_INPUT,
      `--backend takes cuda, mps, mlx or cpu (comma-separated)${bad.length ? `, not ${bad.join(', ')}` : ''}`,
    );
  return [...new Set(list as Backend[])];
}

/** `--hardware-class` / RATCHET_HARDWARE_CLASS: a name used as is instead of the derived one. */
export function parseHardwareClass(v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  const r = HardwareClass.safeParse(v);
  if (!r.success)
    throw new RatchetError(
      ErrorCodes.BAD_INPUT,
      `hardware class "${v}": lower-case letters, digits and dashes, starting with a letter or digit`,
    );
  return r.data;
}

/** This machine's slots: one per visible NVIDIA GPU, else one. */
export async function workerSlots(opts: { name: string; backends: Backend[] | undefined }): Promise<Slot[]> {
  const profile = await detectHardware({
    ...(opts.backends ? { backends: opts.backends } : {}),
    ...(process.env.CUDA_VISIBLE_DEVICES !== undefined
      ? { cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES }
      : {}),
  });
  return planSlots(profile, opts.name);
}

/** Each slot works in its own directory; the default lives under the platform's cache dir. */
export function slotWorkDir(workdir: string | undefined, slot: Slot, slots: number, name: string): string {
  const root = workdir ?? join(cacheDirFor(process.platform, process.env, homedir()), 'worker', name);
  return resolve(slots > 1 ? join(root, slot.name) : root);
}
