/**
 * The training process's environment: an allowlist, never the worker's environment minus a
 * blocklist. It gets what the track declares (`env` in ratchet.json), what a process needs to
 * run at all (PATH, HOME, locale, TZ, temp dirs, the Windows essentials), the accelerator and
 * thread variables, the worker's per-slot settings, and the job's own `RATCHET_*`. A name that
 * is allowed still loses its value when the value holds a secret the worker knows.
 */

/** Names passed through as they are. */
const NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TERM',
  'XDG_CACHE_HOME',
  'LD_LIBRARY_PATH',
  'DYLD_LIBRARY_PATH',
  // Windows
  'SYSTEMROOT',
  'SYSTEMDRIVE',
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'PROGRAMDATA',
  'PROGRAMFILES',
  'PROGRAMFILES(X86)',
  'NUMBER_OF_PROCESSORS',
  'PROCESSOR_ARCHITECTURE',
  'OS',
  // threads
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
  'NUMEXPR_NUM_THREADS',
  'VECLIB_MAXIMUM_THREADS',
  // Python and uv, where the runner or the machine's setup sets them
  'VIRTUAL_ENV',
  'UV_CACHE_DIR',
  'UV_PYTHON',
  'UV_PROJECT_ENVIRONMENT',
  'PYTHONUNBUFFERED',
  'PYTHONHASHSEED',
  'PYTHONPATH',
]);

/** Prefixes passed through: locale, accelerators, frameworks. */
const PREFIXES = [
  'LC_',
  'CUDA_',
  'NVIDIA_',
  'CUDNN_',
  'NCCL_',
  'HIP_',
  'ROCR_',
  'ROCM_',
  'HSA_',
  'PYTORCH_',
  'TORCH_',
  'MPS_',
  'MLX_',
  'TRITON_',
  'KMP_',
  'GOMP_',
];

/** Allowed names that still never pass: they name something of the worker's, not the run's. */
const NEVER = /TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL/i;

/** Whether the training process may see `name` (besides the track's own list). */
export function allowedName(name: string): boolean {
  if (NEVER.test(name)) return false;
  const upper = name.toUpperCase();
  return NAMES.has(upper) || PREFIXES.some((p) => upper.startsWith(p));
}

export function jobEnv(
  base: NodeJS.ProcessEnv,
  job: { budgetS: number; seed: number; jobId: string; dataDir?: string; trackEnv?: readonly string[] },
  secrets: readonly string[],
  /** Set by the worker for this run (e.g. CUDA_VISIBLE_DEVICES of its slot): always passed. */
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const declared = new Set(job.trackEnv ?? []);
  const out: NodeJS.ProcessEnv = {};
  const holdsSecret = (v: string) => secrets.some((s) => s.length >= 8 && v.includes(s));
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || k.startsWith('RATCHET_')) continue;
    if (!declared.has(k) && !allowedName(k)) continue;
    if (holdsSecret(v)) continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (!k.startsWith('RATCHET_') && !holdsSecret(v)) out[k] = v;
  }
  out.RATCHET_TIME_BUDGET_S = String(job.budgetS);
  out.RATCHET_SEED = String(job.seed);
  out.RATCHET_JOB_ID = job.jobId;
  if (job.dataDir) out.RATCHET_DATA_DIR = job.dataDir;
  out.PYTHONUNBUFFERED = '1';
  return out;
}

/** `python`/`python3` as argv[0] means "this worker's interpreter". */
export function resolveArgv(argv: readonly string[], python: string): string[] {
  const [first, ...rest] = argv;
  if (first === 'python' || first === 'python3') return [python, ...rest];
  return [first!, ...rest];
}
