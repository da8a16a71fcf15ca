/** The training process's environment: the worker's, minus every secret, plus the job's. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL/i;

export function jobEnv(
  base: NodeJS.ProcessEnv,
  job: { budgetS: number; seed: number; jobId: string; dataDir?: string },
  secrets: readonly string[],
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    if (k.startsWith('RATCHET_') || SECRET_NAME.test(k)) continue;
    if (secrets.some((s) => s.length > 0 && v.includes(s))) continue;
    out[k] = v;
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
