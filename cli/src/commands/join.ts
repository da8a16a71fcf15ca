/**
 * `ratchet join URL --token T` or `ratchet join INVITE`: a volunteer's machine joins a pool.
 * Checks the machine (saying exactly what is missing and how to install it), checks the
 * token against the coordinator, saves the settings, optionally prints the service steps,
 * then starts the worker in folding mode (idle-only, lowest priority, sandboxed).
 * Exit codes: 2 when a required check fails or the token is refused.
 */
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { createClient, createSandbox, DEFAULT_LIMITS, errorCode } from '@ratchet/worker';
import { parse } from '../args.ts';
import { evaluate, formatChecks, freeDisk, type MachineFacts, probePython } from '../join/checks.ts';
import { servicePlan, workerEnvFile, writeEnvFile } from '../join/service.ts';
import { findTorchPython } from '../up/python.ts';
import { workerCommand } from './serve.ts';
import { parseInvite } from './tokens.ts';
import { foldingOptions } from './worker-options.ts';

const REPO = resolve(import.meta.dirname, '..', '..', '..');

const passThrough = {
  python: { type: 'string' },
  workdir: { type: 'string' },
  name: { type: 'string' },
  once: { type: 'boolean' },
  track: { type: 'string', multiple: true },
  ...foldingOptions,
} as const;

/** Worker flags given to join, forwarded as they were given (booleans only when true). */
function forward(values: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(passThrough)) {
    const v = values[key];
    if (v === undefined || v === false || key === 'folding') continue;
    if (v === true) out.push(`--${key}`);
    else if (Array.isArray(v)) for (const x of v) out.push(`--${key}`, String(x));
    else out.push(`--${key}`, String(v));
  }
  return out;
}

export async function joinCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    token: { type: 'string' },
    service: { type: 'boolean', default: false },
    'no-start': { type: 'boolean', default: false },
    ...passThrough,
  });
  const invite = positionals[0] ? parseInvite(positionals[0]) : null;
  const url = invite?.url ?? positionals[0];
  const token = values.token ?? invite?.token;
  if (!url || !token)
    throw new RatchetError(
      ErrorCodes.BAD_INPUT,
      'usage: ratchet join URL --token T, or ratchet join URL/join#TOKEN',
    );

  const python =
    values.python ?? process.env.RATCHET_PYTHON ?? findTorchPython(undefined)?.python ?? 'python3';
  const cacheDir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ratchet');
  const [py, free, sandbox] = await Promise.all([
    probePython(python),
    freeDisk(cacheDir),
    createSandbox({ python, limits: DEFAULT_LIMITS, lowPriority: true }).then(
      (s) => ({ ok: true, detail: `${s.mechanism}, memory limit by ${s.memory}` }),
      (e: Error) => ({ ok: false, detail: e.message }),
    ),
  ]);
  const facts: MachineFacts = {
    platform: process.platform,
    python: { path: python, probe: py.probe, error: py.error },
    freeDiskBytes: free,
    sandbox,
    debianLike: process.platform === 'linux' && (await import('node:fs')).existsSync('/etc/debian_version'),
  };
  const checks = evaluate(facts);
  process.stdout.write(`checking this machine for ${url}\n${formatChecks(checks)}`);
  const missing = checks.filter((c) => c.required && !c.ok);
  if (missing.length > 0) {
    throw new RatchetError(
      ErrorCodes.JOIN_CHECK_FAILED,
      `missing: ${missing.map((c) => c.name).join(', ')} (install what is listed above, then run ratchet join again)`,
    );
  }

  try {
    const h = await createClient(url, token).health.query();
    if (h.role !== 'worker' && h.role !== 'admin')
      throw new RatchetError(ErrorCodes.FORBIDDEN, `a ${h.role} token cannot run a worker`);
  } catch (e) {
    const code = errorCode(e);
    if (code)
      throw new RatchetError(ErrorCodes.UNAUTHENTICATED, `the coordinator refuses this token (${code})`);
    throw e;
  }
  process.stdout.write(`token accepted by ${url}\n`);

  const workerArgs = ['--folding', '--python', python, ...forward({ ...values, python: undefined })];
  const envFile = join(homedir(), '.config', 'ratchet', 'worker.env');
  // --once is for this run only, not for the service.
  await writeEnvFile(
    envFile,
    workerEnvFile(
      url,
      token,
      workerArgs.filter((a) => a !== '--once'),
    ),
  );
  process.stdout.write(`settings saved to ${envFile} (mode 600)\n`);
  if (values.service) {
    const device = py.probe?.cuda ? '0' : 'cpu';
    process.stdout.write(
      `to run it as a service:\n${servicePlan(process.platform, REPO, envFile, device)
        .map((l) => `  ${l}\n`)
        .join('')}`,
    );
  }
  if (values['no-start']) return 0;
  process.stdout.write('starting the worker in folding mode (Ctrl-C stops it)\n');
  // In this process: the token goes through the environment, not an argument list.
  process.env.RATCHET_TOKEN = token;
  return workerCommand([
    '--coordinator',
    url,
    ...workerArgs,
    ...(values.name ? [] : ['--name', `${hostname()}-volunteer`]),
  ]);
}
