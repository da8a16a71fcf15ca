/** A coordinator in its own process (test/support/coordinator-main.ts), configured by env. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, TSX_LOADER } from './harness.ts';

export interface CoordinatorProcess {
  child: ChildProcess;
  url: string;
  adminToken: string;
  pid: number;
  close(): Promise<void>;
}

export async function startCoordinatorProcess(env: Record<string, string>): Promise<CoordinatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, join(ROOT, 'test/support/coordinator-main.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, RATCHET_PORT: '0', RATCHET_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`coordinator exited with ${c}`)));
  });
  const info = JSON.parse(line) as { url: string; adminToken: string; pid: number };
  return {
    child,
    ...info,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
