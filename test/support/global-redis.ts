/**
 * Tests need a real Redis. Use REDIS_URL (or 127.0.0.1:6379) when it answers; otherwise
 * start a private redis-server on a free port for the run and stop it afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisPing as ping } from '../../cli/src/up/redis.ts';

let child: ChildProcess | null = null;
let dir: string | null = null;

export async function setup(): Promise<void> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  if (await ping(url.hostname, Number(url.port || 6379))) {
    process.env.REDIS_URL = url.toString();
    return;
  }
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'ratchet-test-redis-'));
  child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    if (await ping('127.0.0.1', port)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await ping('127.0.0.1', port))) throw new Error('could not start redis-server for the tests');
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
}

export async function teardown(): Promise<void> {
  child?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
}
