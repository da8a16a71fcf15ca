/**
 * The sandbox a volunteer's worker runs other people's code in. `createSandbox` checks once
 * that the platform mechanism works here and learns the host's layout; `contain` turns one
 * run into the argv and environment that start it contained, plus what to check afterwards.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { lowPriorityPrefix } from '../folding/priority.ts';
import { darwinArgv } from './darwin.ts';
import { type DiskWatch, watchDisk } from './disk.ts';
import { cgroupLauncherArgv, createMemoryCgroup, type MemoryCgroup, prlimitArgv } from './limits.ts';
import { bwrapArgs, ETC_FILES, GPU_SYS, type HostLayout, pythonRuntimeDirs, SYSTEM_PATHS } from './linux.ts';
import { SANDBOX_HOME, SANDBOX_TMP, type SandboxLimits, type SandboxRun, sandboxEnv } from './spec.ts';
import { windowsArgv } from './windows.ts';

export { DEFAULT_LIMITS, type SandboxLimits, type SandboxRun, sandboxEnv } from './spec.ts';

const run = promisify(execFile);

export interface SandboxOptions {
  python: string;
  limits: SandboxLimits;
  lowPriority: boolean;
  platform?: NodeJS.Platform;
  /** The worker's home, never to be mounted (tests pass a fake one). */
  home?: string;
}

/** One run, ready to start; call `finish()` after it exits. */
export interface Contained {
  argv: string[];
  env: Record<string, string>;
  /** Aborts when the run broke a limit the worker enforces itself (disk). */
  signal: AbortSignal;
  finish(): Promise<{ oomKilled: boolean; diskExceededBytes: number | null }>;
}

export interface Sandbox {
  mechanism: 'bwrap' | 'sandbox-exec' | 'job-object';
  memory: 'cgroup-v2' | 'cgroup-v1' | 'rlimit-as' | 'job-object' | 'none';
  contain(run: Omit<SandboxRun, 'readOnly' | 'limits'> & { readOnly?: string[] }): Promise<Contained>;
}

interface PythonReport {
  executable: string;
  prefixes: string[];
  path: string[];
}

async function pythonReport(python: string): Promise<PythonReport> {
  const code =
    'import sys,json,os;print(json.dumps({"executable":os.path.realpath(sys.executable),' +
    '"prefixes":[sys.prefix,sys.base_prefix,sys.exec_prefix,sys.base_exec_prefix],"path":sys.path[1:]}))';
  try {
    const { stdout } = await run(python, ['-c', code], { timeout: 30_000 });
    return JSON.parse(stdout) as PythonReport;
  } catch (e) {
    throw new RatchetError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `cannot ask ${python} for its paths: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** A bare command name (`uv`) as the host's PATH finds it; null when absent or already a path. */
export async function whichOnHost(cmd: string, path = process.env.PATH ?? ''): Promise<string | null> {
  if (cmd.includes('/')) return null;
  for (const dir of path.split(':').filter(Boolean)) {
    const p = join(dir, cmd);
    try {
      await access(p, constants.X_OK);
      if ((await stat(p)).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The file a command runs: itself when it is a path, else what the host's PATH finds. */
async function toolFile(cmd: string): Promise<string | null> {
  if (!cmd.startsWith('/')) return whichOnHost(cmd);
  return (await stat(cmd)
    .then((st) => st.isFile())
    .catch(() => false))
    ? cmd
    : null;
}

/** The base interpreter folders of virtual environments among `dirs` (pyvenv.cfg's `home`). */
export async function venvBases(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    const cfg = await readFile(join(d, 'pyvenv.cfg'), 'utf8').catch(() => null);
    const home = cfg ? /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim() : undefined;
    if (home) out.push(dirname(await realpath(home).catch(() => home)));
  }
  return out;
}

async function hostLayout(): Promise<HostLayout> {
  const system: HostLayout['system'] = [];
  for (const p of SYSTEM_PATHS) {
    try {
      system.push({ path: p, link: await readlink(p) });
    } catch {
      if (
        await stat(p)
          .then((s) => s.isDirectory())
          .catch(() => false)
      )
        system.push({ path: p, link: null });
    }
  }
  const dev = await readdir('/dev').catch(() => [] as string[]);
  const gpuDevices = dev
    .filter((n) => /^nvidia/.test(n) || n === 'dri' || n === 'kfd')
    .map((n) => `/dev/${n}`)
    .sort();
  return { system, etc: ETC_FILES, gpuDevices, gpuSys: GPU_SYS };
}

/** bwrap must start a user namespace here: distributions can forbid it (sysctl, AppArmor). */
async function probeBwrap(): Promise<void> {
  try {
    await run('bwrap', ['--unshare-user', '--unshare-net', '--unshare-pid', '--ro-bind', '/', '/', 'true'], {
      timeout: 15_000,
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    const hint =
      err.code === 'ENOENT'
        ? 'install bubblewrap (apt install bubblewrap / dnf install bubblewrap)'
        : 'user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=1 (Debian), or on Ubuntu 24.04+ allow bwrap in AppArmor (kernel.apparmor_restrict_unprivileged_userns)';
    throw new RatchetError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `the sandbox cannot start here (${(err.stderr || err.message).trim()}): ${hint}`,
      { cause: e },
    );
  }
}

async function createLinuxSandbox(opts: SandboxOptions): Promise<Sandbox> {
  await probeBwrap();
  const [layout, py] = await Promise.all([hostLayout(), pythonReport(opts.python)]);
  const home = opts.home ?? homedir();
  const probe = await createMemoryCgroup(opts.limits.memoryBytes);
  const memory: Sandbox['memory'] = probe
    ? probe.kind === 'v2'
      ? 'cgroup-v2'
      : 'cgroup-v1'
    : layout.gpuDevices.length > 0
      ? 'none'
      : 'rlimit-as';
  await probe?.remove();
  return {
    mechanism: 'bwrap',
    memory,
    async contain(r) {
      // The worker's interpreter (maybe a pyenv shim, which needs all of ~/.pyenv) runs as
      // the real binary; any other tool the track names (`uv run train.py`) is bound alone.
      const [argv0 = '', ...rest] = r.argv;
      const asPython = argv0 === opts.python || argv0 === (await whichOnHost(opts.python));
      const argv = asPython ? [py.executable, ...rest] : r.argv;
      const tool = asPython ? null : await toolFile(argv0);
      const bases = await venvBases(r.readOnly ?? []);
      const runtime = pythonRuntimeDirs(
        { executable: py.executable, prefixes: [...py.prefixes, ...bases], path: py.path },
        r.checkoutDir,
        home,
      );
      const full: SandboxRun = {
        ...r,
        argv,
        readOnly: [...(r.readOnly ?? []), ...runtime, ...(tool ? [tool] : [])],
        limits: opts.limits,
      };
      await mkdir(full.trackCacheDir, { recursive: true });
      const toolDir = tool ? [dirname(tool)] : [];
      const path = [...toolDir, dirname(py.executable), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
      const env = sandboxEnv(process.env, r.env, { path, home: SANDBOX_HOME, tmp: SANDBOX_TMP });
      const cg: MemoryCgroup | null = memory.startsWith('cgroup')
        ? await createMemoryCgroup(opts.limits.memoryBytes)
        : null;
      const inner = [
        ...(opts.lowPriority ? lowPriorityPrefix('linux') : []),
        ...prlimitArgv({
          addressSpaceBytes: memory === 'rlimit-as' ? opts.limits.memoryBytes : null,
          fileBytes: opts.limits.fileBytes,
        }),
        'bwrap',
        ...bwrapArgs(full, layout, env),
      ];
      const abort = new AbortController();
      const watched = [full.checkoutDir, ...(full.writableCache ? [full.trackCacheDir] : [])];
      const disk: DiskWatch = await watchDisk(watched, opts.limits.diskBytes, () => abort.abort());
      return {
        argv: cg ? cgroupLauncherArgv(cg.procsFile, inner) : inner,
        // bwrap itself gets only the allowlist, so its own /proc/N/environ holds no secret either.
        env,
        signal: abort.signal,
        async finish() {
          disk.stop();
          const oomKilled = cg ? await cg.oomKilled() : false;
          await cg?.remove();
          return { oomKilled, diskExceededBytes: disk.exceeded?.bytes ?? null };
        },
      };
    },
  };
}

async function createDarwinSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const py = await pythonReport(opts.python);
  const home = opts.home ?? homedir();
  return {
    mechanism: 'sandbox-exec',
    memory: 'none',
    async contain(r) {
      const tmp = await mkdtemp(join(tmpdir(), 'ratchet-sbx-'));
      const full: SandboxRun = {
        ...r,
        readOnly: [...(r.readOnly ?? []), ...pythonRuntimeDirs(py, r.checkoutDir, home)],
        limits: opts.limits,
      };
      const path = [dirname(py.executable), '/usr/local/bin', '/opt/homebrew/bin', '/usr/bin', '/bin'].join(
        ':',
      );
      const env = sandboxEnv(process.env, r.env, { path, home: tmp, tmp });
      const abort = new AbortController();
      const disk = await watchDisk([r.checkoutDir], opts.limits.diskBytes, () => abort.abort());
      return {
        argv: darwinArgv(full, tmp, opts.lowPriority),
        env,
        signal: abort.signal,
        async finish() {
          disk.stop();
          await rm(tmp, { recursive: true, force: true });
          return { oomKilled: false, diskExceededBytes: disk.exceeded?.bytes ?? null };
        },
      };
    },
  };
}

async function createWindowsSandbox(opts: SandboxOptions): Promise<Sandbox> {
  return {
    mechanism: 'job-object',
    memory: 'job-object',
    async contain(r) {
      const env = sandboxEnv(process.env, r.env, {
        path: process.env.PATH ?? '',
        home: r.trackCacheDir,
        tmp: r.trackCacheDir,
      });
      for (const k of ['SystemRoot', 'SYSTEMROOT', 'windir', 'ComSpec', 'PATHEXT']) {
        const v = process.env[k];
        if (v !== undefined) env[k] = v;
      }
      const abort = new AbortController();
      const disk = await watchDisk([r.checkoutDir], opts.limits.diskBytes, () => abort.abort());
      return {
        argv: windowsArgv({
          argv: r.argv,
          cwd: r.checkoutDir,
          memoryBytes: opts.limits.memoryBytes,
          priority: opts.lowPriority ? 'IDLE' : 'BELOW_NORMAL',
        }),
        env,
        signal: abort.signal,
        async finish() {
          disk.stop();
          return { oomKilled: false, diskExceededBytes: disk.exceeded?.bytes ?? null };
        },
      };
    },
  };
}

/** The platform's sandbox, checked to work here; SANDBOX_UNAVAILABLE with a fix otherwise. */
export async function createSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const platform = opts.platform ?? process.platform;
  if (platform === 'linux') return createLinuxSandbox(opts);
  if (platform === 'darwin') return createDarwinSandbox(opts);
  if (platform === 'win32') return createWindowsSandbox(opts);
  throw new RatchetError(ErrorCodes.SANDBOX_UNAVAILABLE, `no sandbox for platform ${platform}`);
}
