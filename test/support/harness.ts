/** Test harness: a real coordinator on a random port, with its own data dir and Redis prefix. */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Coordinator, createCoordinator, loadConfig } from '@ratchet/coordinator';
import type { HardwareProfile } from '@ratchet/shared';
import { createClient, createWorkerAgent, type WorkerOptions } from '@ratchet/worker';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const STANDIN_TRACK = join(ROOT, 'test', 'fixtures', 'standin');
export const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
export const CLI = join(ROOT, 'cli', 'src', 'main.ts');
/** Debian's interpreter (with torch when installed); any python3 runs the stand-in. */
export const PYTHON = process.env.RATCHET_TEST_PYTHON ?? '/usr/bin/python3';

/** The hardware profile of a plain 4-core CPU box, for workers registered by hand. */
export const TEST_CPU_PROFILE: HardwareProfile = {
  backend: 'cpu',
  os: 'linux',
  arch: 'x64',
  cpuModel: 'Test CPU',
  cpuCores: 4,
  memoryGb: 8,
  gpus: [],
  chip: null,
};

export function uniquePrefix(tag: string): string {
  return `t-${tag}-${randomBytes(4).toString('hex')}`;
}

export interface TestCoordinator {
  c: Coordinator;
  url: string;
  dataDir: string;
  prefix: string;
  admin: ReturnType<typeof createClient>;
  close(): Promise<void>;
}

export async function startCoordinator(env: Record<string, string> = {}): Promise<TestCoordinator> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-coord-'));
  const prefix = uniquePrefix('c');
  const cfg = loadConfig({
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    RATCHET_DATA_DIR: dataDir,
    RATCHET_REDIS_PREFIX: prefix,
    RATCHET_PORT: '0',
    RATCHET_LOG_LEVEL: 'silent',
    RATCHET_TRACKS: STANDIN_TRACK,
    ...env,
  });
  const c = await createCoordinator(cfg);
  const url = await c.start();
  return {
    c,
    url,
    dataDir,
    prefix,
    admin: createClient(url, c.adminToken),
    async close() {
      await c.close();
      await cleanRedis(prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Delete every Redis key under a test's prefix. */
export async function cleanRedis(prefix: string) {
  const { Redis } = await import('ioredis');
  const r = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** A unified diff that sets `QUALITY = value` in the stand-in's train.py. */
export function qualityPatch(from: string, to: string): string {
  return [
    '--- a/train.py',
    '+++ b/train.py',
    '@@ -5,3 +5,3 @@',
    ' ',
    `-QUALITY = ${from}  # val_bpb follows this constant: lower is better`,
    `+QUALITY = ${to}  # val_bpb follows this constant: lower is better`,
    ' STEPS = 5',
    '',
  ].join('\n');
}

export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A real worker (Python runs) in this process, with its own work dir; stop() cleans up. */
export async function startAgent(url: string, token: string, extra: Partial<WorkerOptions> = {}) {
  const work = await mkdtemp(join(tmpdir(), 'ratchet-agent-'));
  const agent = createWorkerAgent({
    coordinatorUrl: url,
    token,
    name: 'agent',
    python: PYTHON,
    workDir: work,
    cacheDir: join(work, 'cache'),
    once: false,
    tracks: [],
    lowPriority: false,
    log: () => {},
    ...extra,
  });
  const running = agent.run();
  // A worker whose token is revoked ends with an error; stop() still sees it.
  running.catch(() => {});
  return {
    agent,
    work,
    async stop() {
      agent.stop();
      await running;
      await rm(work, { recursive: true, force: true });
    },
  };
}
