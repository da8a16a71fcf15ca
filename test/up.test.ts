/**
 * `ratchet up --budget …`: comes up on a private Redis with the CPU track (this machine has
 * no GPU), finishes at least one experiment, says what it waits for,
 * shuts down on SIGINT leaving no process behind, and resumes the same frontier on restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON } from './support/harness.ts';
import { processesUnder } from './support/proc-scan.ts';
import { type Proc, spawnCli } from './support/procs.ts';

const procs: Proc[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function up(dataDir: string, cache: string): Proc {
  const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: cache, REDIS_URL: '', RATCHET_PYTHON: PYTHON };
  const p = spawnCli(['up', '--budget', '3', '--data-dir', dataDir, '--port', '0'], env);
  procs.push(p);
  return p;
}

describe('ratchet up', () => {
  // Its own waits allow 4 minutes for the first baseline (a real model on a loaded machine).
  it('runs experiments, stops cleanly on SIGINT, and resumes the frontier', {
    timeout: 420_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-up-'));
    const cache = await mkdtemp(join(tmpdir(), 'ratchet-up-cache-'));
    dirs.push(dataDir, cache);
    const first = up(dataDir, cache);
    await first.waitForLine(/API and git: http:\/\//, 60_000);
    await first.waitForLine(/private redis-server/, 1_000);
    // The dashboard's URL carries a read-only token in its fragment, and that token reads.
    const dash = await first.waitForLine(/dashboard: (http:\/\/\S+?)\/#token=(rt_viewer_\S+)/, 30_000);
    const snap = await fetch(`${dash[1]}/api/dashboard/snapshot`, {
      headers: { authorization: `Bearer ${dash[2]}` },
    });
    expect(snap.status).toBe(200);
    // Not a terminal: the running experiment shows as plain lines.
    await first.waitForLine(/local-cpu: running baseline \w{7} on tiny-cpu-3s/, 240_000);
    const line = await first.waitForLine(/\] baseline (\w+) \| (\S+) \| val_bpb (\d+\.\d+)/, 240_000);
    expect(Number(line[3])).toBeGreaterThan(0.5);
    // It says what it waits for: the noise estimate needs more baseline runs first.
    await first.waitForLine(/measuring noise: baseline 1 of 5/, 10_000);
    await first.waitForLine(/frontier tiny-cpu-3s @ (\w{7})/, 10_000);
    expect(await first.stop('SIGINT')).toBe(0);
    const heads = [...first.output().matchAll(/frontier tiny-cpu-3s @ (\w{7})/g)].map((m) => m[1]);
    expect(first.output()).toContain('stopped.');
    expect(processesUnder(dataDir)).toEqual([]);

    const second = up(dataDir, cache);
    const resumed = await second.waitForLine(/frontier tiny-cpu-3s @ (\w{7}): (\d+\.\d+)/, 60_000);
    // The same viewer token, so a bookmarked dashboard keeps working.
    expect((await second.waitForLine(/#token=(rt_viewer_\S+)/, 10_000))[1]).toBe(dash[2]);
    // The same frontier, with the baseline measured by the first run (kept in Redis's AOF).
    expect(resumed[1]).toBe(heads[heads.length - 1]);
    expect(Number(resumed[2])).toBeGreaterThan(0.5);
    expect(await second.stop('SIGINT')).toBe(0);
    expect(processesUnder(dataDir)).toEqual([]);
  });
});
