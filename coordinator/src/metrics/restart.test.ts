/** What /metrics reports about work queued before the coordinator restarted. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanRedis, qualityPatch, STANDIN_TRACK, uniquePrefix } from '../../../test/support/harness.ts';
import { createClient } from '../../../worker/src/index.ts';
import { loadConfig } from '../config.ts';
import { type Coordinator, createCoordinator } from '../coordinator.ts';

const prefix = uniquePrefix('restart');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await cleanRedis(prefix);
});

async function start(dataDir: string): Promise<{ c: Coordinator; url: string }> {
  const c = await createCoordinator(
    loadConfig({
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      RATCHET_DATA_DIR: dataDir,
      RATCHET_REDIS_PREFIX: prefix,
      RATCHET_PORT: '0',
      RATCHET_LOG_LEVEL: 'silent',
      RATCHET_TRACKS: STANDIN_TRACK,
    }),
  );
  return { c, url: await c.start() };
}

describe('metrics across a restart', () => {
  it('reports the depth of queues filled before the restart, and the experiments in them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-restart-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const first = await start(dataDir);
    await createClient(first.url, first.c.adminToken).proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.900000'),
      description: 'queued before the restart',
    });
    await first.c.close();

    const second = await start(dataDir);
    cleanups.push(() => second.c.close());
    const text = await (await fetch(`${second.url}/metrics`)).text();
    expect(text).toMatch(/^ratchet_queue_depth\{queue="eval\.standin"\} 1$/m);
    expect(text).toMatch(
      /^ratchet_experiments\{track="standin",status="queued",verdict="none",hardware_class="none"\} 1$/m,
    );
  });
});
