/** A track's `ratchet.json`: what a research track is and how it runs. */
import { z } from 'zod';

export const Backend = z.enum(['cuda', 'mps', 'mlx', 'cpu']);
export type Backend = z.infer<typeof Backend>;

export const TrackId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'track id: lower-case letters, digits and dashes, at most 63');

const RelPath = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '..' || s === '.git'),
    {
      message: 'must be a plain relative path inside the track',
    },
  );

const Argv = z.array(z.string().min(1)).min(1);

/**
 * The Python environment sync, e.g. `uv sync`, run once per machine and lockfile hash.
 * The environment lives outside the job's checkout, in a folder the worker names through
 * `envDirVar` (uv: `UV_PROJECT_ENVIRONMENT`), so every later job of the track reuses it.
 */
export const TrackSync = z.object({
  argv: Argv,
  /** The file whose content keys the cache (`uv.lock`); it must be pinned. */
  lockfile: RelPath,
  envDirVar: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]{0,63}$/)
    .nullable()
    .default(null),
  /** A first sync downloads the whole toolchain (CUDA torch is gigabytes): its own limit. */
  timeoutS: z.number().int().positive().max(86_400).default(1800),
});
export type TrackSync = z.infer<typeof TrackSync>;

/** Where a track came from: the shape `ratchet track init` recognised, and the source. */
export const TrackOrigin = z.object({
  shape: z.string().max(100),
  url: z.string().max(2000).optional(),
  commit: z.string().max(64).optional(),
});
export type TrackOrigin = z.infer<typeof TrackOrigin>;

/** A data file the coordinator serves to workers under /data/<name>. */
export const DataName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/);

/** An environment variable's name; the job's own `RATCHET_*` are always set by the worker. */
export const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/)
  .refine((n) => !n.startsWith('RATCHET_'), { message: 'RATCHET_* variables are set by the worker' });

export const TrackConfig = z
  .object({
    id: TrackId,
    description: z.string().max(2000).default(''),
    editable: z.array(RelPath).min(1),
    pinned: z.array(RelPath).default([]),
    /** Data files the worker fetches from the coordinator into $RATCHET_DATA_DIR before prepare. */
    data: z.array(DataName).default([]),
    /** Run once per machine and pinned-files hash, e.g. `["python", "prepare.py"]`. */
    prepare: Argv.nullable().default(null),
    /** The prepare step needs the network (downloads); training never has it in a sandbox. */
    prepareNetwork: z.boolean().default(false),
    /** The training command; `python` as argv[0] is replaced by the worker's interpreter. */
    run: z.object({
      default: Argv,
      linux: Argv.optional(),
      darwin: Argv.optional(),
      win32: Argv.optional(),
    }),
    budgetS: z.number().int().positive().max(86_400).default(300),
    hardTimeoutS: z.number().int().positive().max(172_800).default(600),
    backends: z.array(Backend).min(1).default(['cuda', 'mps', 'mlx', 'cpu']),
    /** The research program proposers read (an LLM's system prompt); travels with the track. */
    program: RelPath.default('program.md'),
    sync: TrackSync.nullable().default(null),
    origin: TrackOrigin.optional(),
    /** Worker environment variables the training process may see, beyond the worker's allowlist. */
    env: z.array(EnvName).max(100).default([]),
  })
  .refine((t) => t.hardTimeoutS > t.budgetS, {
    message: 'hardTimeoutS must exceed budgetS',
    path: ['hardTimeoutS'],
  })
  .refine((t) => t.editable.every((f) => !t.pinned.includes(f)), {
    message: 'a file cannot be both editable and pinned',
    path: ['pinned'],
  })
  .refine((t) => t.sync === null || t.pinned.includes(t.sync.lockfile), {
    message: 'the sync lockfile must be pinned',
    path: ['sync', 'lockfile'],
  });
export type TrackConfig = z.infer<typeof TrackConfig>;

export function runCommandFor(track: Pick<TrackConfig, 'run'>, platform: string): string[] {
  const p = platform as 'linux' | 'darwin' | 'win32';
  return track.run[p] ?? track.run.default;
}
