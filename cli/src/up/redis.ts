/** `ratchet up`'s Redis: REDIS_URL when given, else a private redis-server under the data dir. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { ErrorCodes, RatchetError } from '@ratchet/shared';

export function redisPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(1000);
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.connect(port, host, () => {
      s.write('PING\r\n');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

export const INSTALL_REDIS =
  'redis-server was not found. Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.';

export interface LocalRedis {
  url: string;
  child: ChildProcess | null;
  stop(): Promise<void>;
}

export async function startRedis(dataDir: string, redisUrl: string | undefined): Promise<LocalRedis> {
  if (redisUrl) return { url: redisUrl, child: null, stop: async () => {} };
  if (spawnSync('redis-server', ['--version']).error)
    throw new RatchetError(ErrorCodes.REDIS_UNAVAILABLE, INSTALL_REDIS);
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  // Detached: the terminal's Ctrl-C must not reach Redis before ratchet has closed cleanly.
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore', detached: true },
  );
  for (let i = 0; i < 100 && !(await redisPing('127.0.0.1', port)); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!(await redisPing('127.0.0.1', port))) {
    child.kill('SIGKILL');
    throw new RatchetError(
      ErrorCodes.REDIS_UNAVAILABLE,
      `redis-server did not start (see ${join(dir, 'redis.log')})`,
    );
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url: `redis://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
