/**
 * Running a training (or prepare) command: `shell: false`, its own process group, output
 * streamed to a log file, the whole tree killed at the hard timeout or on abort.
 * Never rejects for the child's own failures: they come back in the result.
 */
import { spawn, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { treeKillPlan } from '../platform/platform.ts';

export interface RunSpec {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  hardTimeoutS: number;
  signal?: AbortSignal;
  /** Folding mode: lowest CPU priority. */
  lowPriority?: boolean;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  startAt: number;
  exitAt: number;
  spawnError: string | null;
}

/** Process groups of runs in flight, so that a forced exit can still kill them. */
const running = new Set<number>();

/** Kill every run in flight at once (the second Ctrl-C). */
export function killRunningChildren(): void {
  for (const pid of running) killTree(pid, 'SIGKILL');
  running.clear();
}

/** SIGTERM grace before SIGKILL, in ms. */
const KILL_GRACE_MS = 3_000;

export function killTree(pid: number, sig: NodeJS.Signals): void {
  const plan = treeKillPlan(process.platform, pid, sig);
  if (plan.kind === 'taskkill') {
    spawnSync(plan.cmd, plan.args, { windowsHide: true });
    return;
  }
  try {
    process.kill(plan.pid, plan.signal);
  } catch {
    // the group is already gone
  }
}

export async function runProcess(spec: RunSpec): Promise<RunResult> {
  const log = await open(spec.logFile, 'a');
  const startAt = Date.now();
  try {
    const [cmd, ...args] = spec.argv;
    const child = spawn(cmd!, args, {
      cwd: spec.cwd,
      env: spec.env,
      shell: false,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      windowsHide: true,
    });
    if (child.pid) running.add(child.pid);
    if (spec.lowPriority && child.pid) {
      try {
        setPriority(child.pid, 19);
      } catch {
        // not permitted here: run at normal priority
      }
    }
    let timedOut = false;
    let aborted = false;
    const stop = (why: 'timeout' | 'abort') => {
      if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
      if (why === 'timeout') timedOut = true;
      else aborted = true;
      killTree(child.pid, 'SIGTERM');
      setTimeout(() => child.pid && killTree(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => stop('timeout'), spec.hardTimeoutS * 1000);
    const onAbort = () => stop('abort');
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (spec.signal?.aborted) onAbort();
    const result = await new Promise<RunResult>((resolve) => {
      child.once('error', (err) =>
        resolve({
          exitCode: null,
          signal: null,
          timedOut,
          aborted,
          startAt,
          exitAt: Date.now(),
          spawnError: err.message,
        }),
      );
      child.once('exit', (code, sig) =>
        resolve({
          exitCode: code,
          signal: sig,
          timedOut,
          aborted,
          startAt,
          exitAt: Date.now(),
          spawnError: null,
        }),
      );
    });
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
    // Whatever the leader did, nothing of its group may outlive the run.
    if (child.pid) {
      killTree(child.pid, 'SIGKILL');
      running.delete(child.pid);
    }
    return result;
  } finally {
    await log.close();
  }
}
