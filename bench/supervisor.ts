/**
 * What the training supervisor costs per run: wall time from spawn to exit of a command that
 * does nothing, started directly (own process group, as before the supervisor) and through
 * `runProcess` (supervisor, run mark, /proc sweep at exit). Prints figures; asserts nothing.
 *   node --import tsx bench/supervisor.ts [N]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '@ratchet/worker';

const n = Number(process.argv[2] ?? 20);
const PYTHON = process.env.RATCHET_TEST_PYTHON ?? '/usr/bin/python3';
const argv = [PYTHON, '-c', 'pass'];
const dir = await mkdtemp(join(tmpdir(), 'ratchet-bench-sup-'));

function direct(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve());
  });
}

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

const fmt = (xs: number[]) =>
  `median ${xs[Math.floor(xs.length / 2)]!.toFixed(0)} ms, p90 ${xs[Math.floor(xs.length * 0.9)]!.toFixed(0)} ms`;
try {
  const plain = await time(direct);
  const supervised = await time(() =>
    runProcess({
      argv,
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      logFile: join(dir, 'log'),
      hardTimeoutS: 60,
    }),
  );
  console.log(`runs: ${n}, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(`python -c pass, direct:          ${fmt(plain)}`);
  console.log(`python -c pass, via runProcess:  ${fmt(supervised)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
