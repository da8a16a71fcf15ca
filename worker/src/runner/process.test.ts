import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from './process.ts';

const PYTHON = process.env.RATCHET_TEST_PYTHON ?? '/usr/bin/python3';
let dir: string;
const pids: number[] = [];

/** Running, not a zombie: an orphan's zombie lingers until init reaps it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitForPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (/^\d+$/.test(text.trim())) return Number(text.trim());
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no pid in ${file}`);
}

/** Forks a grandchild that leaves the process group (`setsid`, then a second fork). */
const ESCAPE = `
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(120)
    os._exit(0)
print("parent waits", flush=True)
time.sleep(float(sys.argv[2]))
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-proc-'));
  await writeFile(join(dir, 'escape.py'), ESCAPE);
});
afterAll(async () => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('runProcess', () => {
  it('keeps only the last attempt in the log file', async () => {
    const logFile = join(dir, 'job.log');
    for (const n of [1, 2]) {
      const r = await runProcess({
        argv: [PYTHON, '-c', `print("---\\nval_bpb: 0.9${n}")`],
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        logFile,
        hardTimeoutS: 30,
      });
      expect(r.exitCode).toBe(0);
    }
    const log = await readFile(logFile, 'utf8');
    expect(log).toBe('---\nval_bpb: 0.92\n');
  });

  it.runIf(process.platform === 'linux')(
    'kills a grandchild that left the process group when the hard timeout fires',
    async () => {
      const pidFile = join(dir, 'escaped-timeout.pid');
      const run = runProcess({
        argv: [PYTHON, join(dir, 'escape.py'), pidFile, '60'],
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        logFile: join(dir, 'timeout.log'),
        hardTimeoutS: 2,
      });
      const escaped = await waitForPid(pidFile);
      pids.push(escaped);
      expect(alive(escaped)).toBe(true);
      const r = await run;
      expect(r.timedOut).toBe(true);
      await new Promise((res) => setTimeout(res, 200));
      expect(alive(escaped)).toBe(false);
    },
    30_000,
  );

  it.runIf(process.platform === 'linux')(
    'kills a grandchild that left the process group when the command exits by itself',
    async () => {
      const pidFile = join(dir, 'escaped-exit.pid');
      const run = runProcess({
        argv: [PYTHON, join(dir, 'escape.py'), pidFile, '1'],
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        logFile: join(dir, 'exit.log'),
        hardTimeoutS: 30,
      });
      const escaped = await waitForPid(pidFile);
      pids.push(escaped);
      const r = await run;
      expect(r.exitCode).toBe(0);
      expect(r.timedOut).toBe(false);
      await new Promise((res) => setTimeout(res, 200));
      expect(alive(escaped)).toBe(false);
    },
    30_000,
  );

  it("reports the command's exit code, its signal, and a command that cannot start", async () => {
    const base = { cwd: dir, env: { PATH: process.env.PATH ?? '' }, hardTimeoutS: 30 };
    const code = await runProcess({
      ...base,
      argv: [PYTHON, '-c', 'raise SystemExit(7)'],
      logFile: join(dir, 'a.log'),
    });
    expect(code).toMatchObject({ exitCode: 7, signal: null, spawnError: null });
    const sig = await runProcess({
      ...base,
      argv: [PYTHON, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'],
      logFile: join(dir, 'b.log'),
    });
    expect(sig).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    const missing = await runProcess({
      ...base,
      argv: [join(dir, 'no-such-tool')],
      logFile: join(dir, 'c.log'),
    });
    expect(missing.spawnError).toMatch(/ENOENT/);
  });
});
