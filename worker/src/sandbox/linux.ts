/**
 * Linux: bubblewrap (`bwrap`, Debian/Ubuntu/Fedora package `bubblewrap`). The run gets new
 * user, PID, IPC, UTS, cgroup and (unless asked) network namespaces; a root of its own that
 * holds only the system's read-only runtime, the job's checkout, the track's cache and a
 * size-limited /tmp; no capabilities, even when the worker is root; and it dies with the
 * worker. GPU device nodes are passed through when present.
 */
import { dirname } from 'node:path';
import { SANDBOX_HOME, SANDBOX_TMP, type SandboxRun } from './spec.ts';

/** How the host lays out its system folders (a merged-/usr system links /bin to usr/bin). */
export interface HostLayout {
  /** Top-level system entries: `link` is a symlink's target, otherwise the folder is bound. */
  system: { path: string; link: string | null }[];
  /** /etc files the dynamic linker and Python need; nothing with users' or network data. */
  etc: string[];
  /** GPU device nodes present (/dev/nvidia*, /dev/dri, /dev/kfd). */
  gpuDevices: string[];
  /** Folders under /sys the GPU runtime reads (only bound when there is a GPU). */
  gpuSys: string[];
}

export const ETC_FILES = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/nvidia',
  '/etc/OpenCL',
];

export const GPU_SYS = ['/sys/dev/char', '/sys/devices', '/sys/bus/pci', '/sys/module/nvidia'];

/** Paths that must never be mounted into a sandbox, whatever the runtime probe says. */
function isForbidden(p: string): boolean {
  return p === '/' || p === '/home' || p === '/root' || p === '/etc' || p === '/proc' || p === '/sys';
}

/** The bwrap argv (without the leading `bwrap`) that runs `run.argv` contained. */
export function bwrapArgs(run: SandboxRun, layout: HostLayout, env: Record<string, string>): string[] {
  const a: string[] = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(run.network ? ['--share-net'] : ['--unshare-net']),
    // Inside the user namespace a root worker is an unprivileged uid with no capabilities.
    '--uid',
    '1000',
    '--gid',
    '1000',
    '--cap-drop',
    'ALL',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'ratchet-sandbox',
    '--clearenv',
  ];
  for (const [k, v] of Object.entries(env)) a.push('--setenv', k, v);
  for (const s of layout.system) {
    if (s.link) a.push('--symlink', s.link, s.path);
    else a.push('--ro-bind', s.path, s.path);
  }
  for (const f of layout.etc) a.push('--ro-bind-try', f, f);
  a.push('--proc', '/proc', '--dev', '/dev');
  for (const d of layout.gpuDevices) a.push('--dev-bind', d, d);
  if (layout.gpuDevices.length > 0) for (const s of layout.gpuSys) a.push('--ro-bind-try', s, s);
  a.push('--size', String(run.limits.tmpBytes), '--tmpfs', SANDBOX_TMP);
  a.push('--dir', SANDBOX_HOME);
  for (const p of run.readOnly) if (!isForbidden(p)) a.push('--ro-bind', p, p);
  a.push(run.writableCache ? '--bind' : '--ro-bind', run.trackCacheDir, `${SANDBOX_HOME}/.cache`);
  a.push('--bind', run.checkoutDir, run.checkoutDir);
  a.push('--remount-ro', '/', '--chdir', run.checkoutDir, '--');
  a.push(...run.argv);
  return a;
}

/** Top-level folders that make up the runtime on any common distribution. */
export const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];

/** The read-only folders a Python interpreter needs, from its own report of its paths. */
export function pythonRuntimeDirs(
  report: { executable: string; prefixes: string[]; path: string[] },
  checkoutDir: string,
  home: string,
): string[] {
  const out = new Set<string>();
  const add = (p: string) => {
    if (!p.startsWith('/') || isForbidden(p)) return;
    // A runtime inside $HOME (pyenv, a venv) is bound alone; $HOME itself or a parent never.
    if (p === home || home.startsWith(`${p}/`)) return;
    if (p === checkoutDir || p.startsWith(`${checkoutDir}/`)) return;
    if (SYSTEM_PATHS.some((s) => p === s || p.startsWith(`${s}/`))) return;
    out.add(p);
  };
  add(dirname(report.executable));
  for (const p of report.prefixes) add(p);
  for (const p of report.path) if (!p.endsWith('.zip')) add(p);
  // Drop folders already inside another one on the list.
  const all = [...out].sort();
  return all.filter((p) => !all.some((q) => q !== p && p.startsWith(`${q}/`)));
}
