/**
 * Running a training (or prepare) command: `shell: false`, its own process group, output
 * streamed to a log file (truncated per attempt), the whole tree killed at the hard timeout
 * or on abort. The command runs under `supervisor.mjs`, which kills it when the worker dies,
 * and every process of the run carries a mark (see reap.ts) so that none escapes the kill.
 * Never rejects for the child's own failures: they come back in the result.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { treeKillPlan } from '../platform/platform.ts';
import { killMarked, newRunMark, RUN_MARK_VAR } from './reap.ts';

const SUPERVISOR = fileURLToPath(new URL('./supervisor.mjs', import.meta.url));

export interface RunSpec {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  hardTimeoutS: number;
  signal?: AbortSignal;
  /** Folding mode: lowest CPU priority. */
  lowPriority?: boolean;
  /** The mark prefix of this worker's runs (`runScope(workDir)`); one is made up when absent. */
  scope?: string;
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
const running = new Map<number, string>();

/** Kill every run in flight at once (the second Ctrl-C). */
export function killRunningChildren(): void {
  for (const [pid, mark] of running) {
    killTree(pid, 'SIGKILL');
    killMarked(mark);
  }
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
  // Truncated: a retried job's log holds only its last attempt.
  const log = await open(spec.logFile, 'w');
  const startAt = Date.now();
  const mark = newRunMark(spec.scope ?? 'run');
  try {
    const [cmd, ...args] = spec.argv;
    const nice = spec.lowPriority ? 19 : 0;
    const child: ChildProcess = spawn(
      process.execPath,
      [SUPERVISOR, String(nice), String(KILL_GRACE_MS), '--', cmd!, ...args],
      {
        cwd: spec.cwd,
        env: { ...spec.env, [RUN_MARK_VAR]: mark },
        shell: false,
        detached: true,
        stdio: ['ignore', log.fd, log.fd, 'ipc'],
        windowsHide: true,
      },
    );
    if (child.pid) running.set(child.pid, mark);
    if (spec.lowPriority && child.pid) {
      try {
        setPriority(child.pid, 19);
      } catch {
        // not permitted here: run at normal priority
      }
    }
    let timedOut = false;
    let aborted = false;
    let reported: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let spawnError: string | null = null;
    child.on('message', (m: { exit?: typeof reported; spawnError?: string }) => {
      if (m?.exit) reported = m.exit;
      if (typeof m?.spawnError === 'string') spawnError = m.spawnError;
    });
    const signalRun = (sig: NodeJS.Signals) => {
      if (child.connected) child.send({ kill: sig }, () => {});
      else if (child.pid) killTree(child.pid, sig);
    };
    const stop = (why: 'timeout' | 'abort') => {
      if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
      if (why === 'timeout') timedOut = true;
      else aborted = true;
      signalRun('SIGTERM');
      setTimeout(() => signalRun('SIGKILL'), KILL_GRACE_MS).unref();
      // The supervisor itself stuck: the group goes, and the sweep below finds the rest.
      setTimeout(() => child.pid && killTree(child.pid, 'SIGKILL'), 2 * KILL_GRACE_MS).unref();
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
      // 'close', not 'exit': it waits for the IPC channel, so the supervisor's report is in.
      child.once('close', (code, sig) => {
        const r = reported as { code: number | null; signal: NodeJS.Signals | null } | null;
        resolve({
          exitCode: r ? r.code : code,
          signal: r ? r.signal : sig,
          timedOut,
          aborted,
          startAt,
          exitAt: Date.now(),
          spawnError,
        });
      });
    });
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
    // Whatever the leader did, nothing of its group or its run may outlive it.
    if (child.pid) {
      killTree(child.pid, 'SIGKILL');
      running.delete(child.pid);
    }
    // The supervisor swept the run before it reported; without its report, the worker does.
    if (reported === null) killMarked(mark);
    return result;
  } finally {
    await log.close();
  }
}
