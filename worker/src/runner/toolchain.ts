/**
 * The toolchain a track's command needs (uv, the interpreter it names), found before the
 * job starts. A missing one is the worker's problem, not the proposal's: it comes back as
 * a coded error on the job (RATCHET_E_TOOLCHAIN_MISSING) with what was looked for and how
 * to install it, and the worker goes on.
 */
import { ErrorCodes } from '@ratchet/shared';
import { executableCandidates, findExecutable, toolDirs } from '../platform/platform.ts';

export type ToolchainCheck =
  | { ok: true; argv: string[] }
  | { ok: false; code: typeof ErrorCodes.TOOLCHAIN_MISSING; message: string };

export interface ToolchainOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  home: string;
  isExecutable?: (file: string) => boolean;
}

function hint(tool: string): string {
  const base = tool.replace(/\.exe$/i, '').toLowerCase();
  if (base === 'uv' || base === 'uvx')
    return 'install uv (https://docs.astral.sh/uv/getting-started/installation/) on this worker';
  if (base === 'py' || base.startsWith('python'))
    return 'install that Python, or give the worker an interpreter with --python PATH (RATCHET_PYTHON)';
  return "install it on this worker, or fix the track's run command";
}

/** `argv` with its program resolved to a full path, or the coded error that it is missing. */
export function resolveToolchain(argv: readonly string[], opts: ToolchainOptions): ToolchainCheck {
  const [tool, ...rest] = argv;
  if (!tool) return { ok: false, code: ErrorCodes.TOOLCHAIN_MISSING, message: 'empty command' };
  const find = {
    platform: opts.platform,
    env: opts.env,
    extraDirs: toolDirs(opts.platform, opts.env, opts.home),
    ...(opts.isExecutable ? { isExecutable: opts.isExecutable } : {}),
  };
  const found = findExecutable(tool, find);
  if (found) return { ok: true, argv: [found, ...rest] };
  const looked = executableCandidates(tool, find);
  const shown = looked.length > 6 ? [...looked.slice(0, 6), `… ${looked.length - 6} more`] : looked;
  return {
    ok: false,
    code: ErrorCodes.TOOLCHAIN_MISSING,
    message: `${ErrorCodes.TOOLCHAIN_MISSING}: the track runs "${tool}", which this worker cannot find (looked in ${shown.join(', ') || 'an empty PATH'}); ${hint(tool)}`,
  };
}
