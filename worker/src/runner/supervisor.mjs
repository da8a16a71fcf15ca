// @ts-check
/**
 * The training supervisor: a tiny Node process between the worker and the training command,
 * so that the command dies with its worker even when the worker is killed with SIGKILL.
 * Plain JavaScript, no imports beyond Node's: it starts without a TypeScript loader.
 *
 * Contract
 *   argv:  supervisor.mjs NICE GRACE_MS -- CMD [ARGS...]
 *   env:   passed to CMD as is; RATCHET_RUN marks every process of this run (descendants
 *          inherit it), so that escaped ones (a `setsid` grandchild) are found in /proc.
 *   stdio: 0, 1, 2 go to CMD; fd 3 is the IPC channel to the worker and its lifeline.
 *   IPC in:  { kill: 'SIGTERM' | 'SIGKILL' } signals the whole run.
 *   IPC out: { exit: { code, signal } } once CMD has exited, then every marked process and
 *            the supervisor's own process group are killed and the supervisor exits.
 *   When the channel closes (the worker died) the whole run is killed at once.
 *   SIGTERM to the supervisor is ignored: it outlives the run to clean up after it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

const [niceArg, graceArg, sep, cmd, ...args] = process.argv.slice(2);
if (sep !== '--' || !cmd) {
  process.stderr.write('usage: supervisor.mjs NICE GRACE_MS -- CMD [ARGS...]\n');
  process.exit(2);
}
const mark = process.env.RATCHET_RUN ?? '';
const graceMs = Number(graceArg) || 3000;
if (Number(niceArg) > 0) {
  try {
    setPriority(Number(niceArg));
  } catch {
    // not permitted: run at normal priority
  }
}

/** Pids (not ours) whose environment holds `RATCHET_RUN=<mark>` or whose ancestry reaches us. */
function runPids() {
  /** @type {number[]} */
  const found = [];
  if (!mark || process.platform !== 'linux') return found;
  /** @type {Map<number, number>} */
  const parent = new Map();
  /** @type {string[]} */
  let all = [];
  try {
    all = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  const needle = `\0RATCHET_RUN=${mark}\0`;
  /** @type {Set<number>} */
  const marked = new Set();
  for (const p of all) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (`\0${readFileSync(`/proc/${p}/environ`, 'latin1')}`.includes(needle)) marked.add(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  for (const pid of parent.keys()) {
    let p = pid;
    for (let depth = 0; depth < 64 && p > 1; depth++) {
      if (p === process.pid || marked.has(p)) {
        found.push(pid);
        break;
      }
      p = parent.get(p) ?? 0;
    }
  }
  return found;
}

/** @param {NodeJS.Signals} sig */
function signalRun(sig) {
  for (const pid of runPids()) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
  if (child.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Kill everything of the run, then ourselves with the group. */
function killAllAndExit() {
  // Twice: a process may fork between the scan and the kill.
  signalRun('SIGKILL');
  signalRun('SIGKILL');
  if (process.platform !== 'win32') {
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      // not a group leader (started without `detached`)
    }
  }
  process.exit(0);
}

const child = spawn(cmd, args, { stdio: 'inherit', env: process.env, windowsHide: true });
process.on('SIGTERM', () => {});
process.on('SIGINT', () => {});
child.once('error', (err) => {
  process.stderr.write(`cannot start ${cmd}: ${err.message}\n`);
  process.send?.({ spawnError: err.message }, () => killAllAndExit());
  if (!process.send) killAllAndExit();
});
child.once('exit', (code, signal) => {
  signalRun('SIGKILL');
  signalRun('SIGKILL');
  if (process.send && process.connected) process.send({ exit: { code, signal } }, () => killAllAndExit());
  else killAllAndExit();
});
process.on('message', (/** @type {{ kill?: NodeJS.Signals }} */ m) => {
  if (m?.kill === 'SIGTERM' || m?.kill === 'SIGKILL') signalRun(m.kill);
});
// The worker is gone: nobody will read the result. SIGTERM first for a clean exit, then kill.
process.on('disconnect', () => {
  signalRun('SIGTERM');
  setTimeout(killAllAndExit, Math.min(graceMs, 1000)).unref();
});
