/**
 * What a sandboxed run may see and use. Builders for each platform turn a `SandboxRun` into
 * the argv that starts it contained; they are pure, so every platform's command is unit-tested
 * on any machine.
 */

/** Limits of one run; bytes throughout. */
export interface SandboxLimits {
  /** Resident memory of the whole process tree (cgroup), or its address space (RLIMIT_AS). */
  memoryBytes: number;
  /** Growth of the job's writable folders (checkout, and the track cache during prepare). */
  diskBytes: number;
  /** Size of the private /tmp (and $HOME) tmpfs; it counts against memory. */
  tmpBytes: number;
  /** Largest single file the run may write (RLIMIT_FSIZE). */
  fileBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 8 * 1024 ** 3,
  diskBytes: 2 * 1024 ** 3,
  tmpBytes: 512 * 1024 ** 2,
  fileBytes: 1024 ** 3,
};

/** One command to run contained. Paths are absolute host paths. */
export interface SandboxRun {
  argv: string[];
  /** The job's checkout: the working directory, writable. */
  checkoutDir: string;
  /** The track's cache, seen as `$HOME/.cache` inside: writable for prepare, read-only for training. */
  trackCacheDir: string;
  writableCache: boolean;
  /** Extra read-only folders (track data, the Python runtime). */
  readOnly: string[];
  /** Network access (only a track's prepare step may ask for it). */
  network: boolean;
  /** The job's own variables (RATCHET_SEED, …); everything else is dropped. */
  env: Record<string, string>;
  limits: SandboxLimits;
}

/** Where the sandboxed process finds its home and scratch space. */
export const SANDBOX_TMP = '/tmp';
export const SANDBOX_HOME = '/tmp/home';

/** Variables a training process may inherit from the worker: toolkit knobs, never secrets. */
const INHERITED = [
  /^LANG$/,
  /^LC_[A-Z]+$/,
  /^TZ$/,
  /^CUDA_VISIBLE_DEVICES$/,
  /^CUDA_DEVICE_ORDER$/,
  /^NVIDIA_VISIBLE_DEVICES$/,
  /^HIP_VISIBLE_DEVICES$/,
  /^PYTORCH_[A-Z_]+$/,
  /^OMP_NUM_THREADS$/,
  /^MKL_NUM_THREADS$/,
  /^OPENBLAS_NUM_THREADS$/,
];

/** The environment inside the sandbox: an allowlist, not the worker's minus known secrets. */
export function sandboxEnv(
  base: NodeJS.ProcessEnv,
  job: Record<string, string>,
  opts: { path: string; home: string; tmp: string },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && INHERITED.some((re) => re.test(k))) out[k] = v;
  }
  Object.assign(out, job);
  out.PATH = opts.path;
  out.HOME = opts.home;
  out.TMPDIR = opts.tmp;
  out.XDG_CACHE_HOME = `${opts.home}/.cache`;
  out.USER = 'ratchet';
  out.LOGNAME = 'ratchet';
  out.PYTHONUNBUFFERED = '1';
  out.PYTHONDONTWRITEBYTECODE = '1';
  if (job.UV_PROJECT_ENVIRONMENT) {
    // The worker synced the environment before; inside, uv must neither sync nor download.
    out.UV_NO_SYNC = '1';
    out.UV_OFFLINE = '1';
    out.UV_CACHE_DIR = `${opts.tmp}/uv-cache`;
  }
  return out;
}
