/** A real three-node Redis Cluster on free local ports (Debian's redis-server and redis-cli). */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface LocalCluster {
  ports: number[];
  /** `redis+cluster://127.0.0.1:p1,…` */
  url: string;
  close(): Promise<void>;
}

export async function startCluster(nodes = 3): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-cluster-'));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  // The cluster bus listens on port + 10000: pick ports whose bus port is free too.
  while (ports.length < nodes) {
    const p = await freePort();
    if (p < 55_000 && !ports.includes(p)) ports.push(p);
  }
  for (const p of ports) {
    const args = ['--port', String(p), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'];
    args.push('--cluster-config-file', `nodes-${p}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no');
    procs.push(spawn('redis-server', args, { stdio: 'ignore' }));
  }
  const close = async () => {
    for (const c of procs) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) {
      for (let i = 0; ; i++) {
        try {
          await run('redis-cli', ['-p', String(p), 'ping']);
          break;
        } catch (e) {
          if (i > 100) throw e;
          await sleep(50);
        }
      }
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (let i = 0; ; i++) {
      const states = await Promise.all(
        ports.map(async (p) => (await run('redis-cli', ['-p', String(p), 'cluster', 'info'])).stdout),
      );
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (i > 200) throw new Error('the cluster did not reach state ok');
      await sleep(50);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { ports, url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, close };
}
