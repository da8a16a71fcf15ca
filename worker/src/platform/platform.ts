/**
 * What differs between Linux, macOS and Windows for a worker, as pure functions of an
 * injected platform and environment, so the Windows paths are tested on any machine:
 * how a process tree is killed, where the cache lives, which interpreter names to try,
 * and how an executable is found on PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export type KillPlan =
  | { kind: 'taskkill'; cmd: 'taskkill'; args: string[] }
  | { kind: 'group'; pid: number; signal: NodeJS.Signals };

/**
 * How to kill a run's whole tree. POSIX: a signal to the process group (the run is its
 * leader). Windows has no groups: `taskkill /T /F` ends the process and every descendant
 * (a console program ignores the polite close, so /F from the start).
 */
export function treeKillPlan(platform: NodeJS.Platform, pid: number, signal: NodeJS.Signals): KillPlan {
  if (platform === 'win32')
    return { kind: 'taskkill', cmd: 'taskkill', args: ['/PID', String(pid), '/T', '/F'] };
  return { kind: 'group', pid: -pid, signal };
}

function pathFor(platform: NodeJS.Platform) {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The worker's cache (track data, prepare markers): %LOCALAPPDATA%\ratchet on Windows. */
export function cacheDirFor(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  const p = pathFor(platform);
  if (platform === 'win32') return p.join(env.LOCALAPPDATA || p.join(home, 'AppData', 'Local'), 'ratchet');
  return p.join(env.XDG_CACHE_HOME || p.join(home, '.cache'), 'ratchet');
}

/** Interpreter names to try, in order: the `py` launcher first on Windows. */
export function pythonCandidates(platform: NodeJS.Platform): string[] {
  return platform === 'win32' ? ['py', 'python', 'python3'] : ['python3', 'python'];
}

/** Where installers put tools that a service's PATH often lacks (uv: ~/.local/bin, ~/.cargo/bin). */
export function toolDirs(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string[] {
  const p = pathFor(platform);
  const h = platform === 'win32' ? env.USERPROFILE || home : home;
  const dirs = [p.join(h, '.local', 'bin'), p.join(h, '.cargo', 'bin')];
  if (env.XDG_BIN_HOME) dirs.unshift(env.XDG_BIN_HOME);
  if (env.UV_INSTALL_DIR) dirs.unshift(env.UV_INSTALL_DIR);
  return dirs;
}

export interface FindOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Searched after PATH. */
  extraDirs?: string[];
  /** Is this path a runnable file? (injected in tests) */
  isExecutable?: (file: string) => boolean;
}

function defaultIsExecutable(platform: NodeJS.Platform) {
  return (file: string) => {
    try {
      if (!statSync(file).isFile()) return false;
      if (platform !== 'win32') accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
}

/** Every place `findExecutable` looks for `name`, in order. */
export function executableCandidates(name: string, opts: FindOptions): string[] {
  const p = pathFor(opts.platform);
  const win = opts.platform === 'win32';
  // Windows spells PATH as Path, and looks up names without an extension through PATHEXT.
  const pathVar = (win ? (opts.env.Path ?? opts.env.PATH) : opts.env.PATH) ?? '';
  const exts =
    win && p.extname(name) === ''
      ? (opts.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD')
          .split(';')
          .filter(Boolean)
          // Windows file names are case-insensitive; `uv.exe` reads better than `uv.EXE`.
          .map((e) => e.toLowerCase())
      : [''];
  if (name.includes('/') || (win && name.includes('\\'))) return exts.map((e) => name + e);
  const dirs = [...pathVar.split(win ? ';' : ':'), ...(opts.extraDirs ?? [])].filter(Boolean);
  return dirs.flatMap((d) => exts.map((e) => p.join(d, name + e)));
}

/** The file `name` runs as, or null: what `which`/`where` would say. */
export function findExecutable(name: string, opts: FindOptions): string | null {
  const ok = opts.isExecutable ?? defaultIsExecutable(opts.platform);
  return executableCandidates(name, opts).find(ok) ?? null;
}
