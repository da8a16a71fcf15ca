/**
 * Folding mode through the real stack: a coordinator, a worker in folding mode with the
 * sandbox on, and this machine's readers. The owner's keyboard is the one thing that cannot
 * be touched here: `xprintidle` is a stand-in on PATH that prints what the test writes.
 * The worker waits while the owner is active, leases once idle, gives the job back at once
 * when the owner returns (nothing is recorded), and finishes it once left alone again.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DEFAULT_LIMITS, FoldingPrefs } from '@ratchet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { writeSlowTrack } from './support/slow-track.ts';

const saved = { PATH: process.env.PATH, DISPLAY: process.env.DISPLAY };
let dir: string;
let coord: TestCoordinator;
const idleFile = () => join(dir, 'idle-ms');
const setIdleMs = (ms: number) => writeFile(idleFile(), `${ms}\n`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-folding-'));
  await writeFile(join(dir, 'xprintidle'), `#!/bin/sh\ncat "${idleFile()}"\n`);
  await chmod(join(dir, 'xprintidle'), 0o755);
  process.env.PATH = `${dir}${delimiter}${saved.PATH}`;
  process.env.DISPLAY = ':42';
  // A slower stand-in: a run long enough for its owner to come back in the middle of it.
  const track = await writeSlowTrack(dir, 'slow', 6);
  coord = await startCoordinator({ RATCHET_TRACKS: track });
});

afterAll(async () => {
  process.env.PATH = saved.PATH;
  if (saved.DISPLAY === undefined) delete process.env.DISPLAY;
  else process.env.DISPLAY = saved.DISPLAY;
  await coord?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('folding mode', () => {
  it('waits for an idle owner, gives the job back when the owner returns, finishes when left alone', async () => {
    await setIdleMs(1_000);
    // Trusted: alone in its class, an untrusted token's baselines would wait for a second one.
    const { token } = await coord.admin.tokens.create.mutate({
      role: 'worker',
      name: 'volunteer',
      trusted: true,
    });
    const lines: string[] = [];
    const w = await startAgent(coord.url, token, {
      log: (m) => lines.push(m),
      lowPriority: true,
      folding: FoldingPrefs.parse({ idleMinutes: 1, checkIntervalS: 1, maxOtherCpuPct: 100 }),
      sandbox: { ...DEFAULT_LIMITS, memoryBytes: 1024 ** 3 },
    });
    try {
      await waitFor(
        async () => lines.some((l) => l.startsWith('folding: waiting (the user was active')),
        20_000,
        'waiting',
      );
      await new Promise((r) => setTimeout(r, 2_000));
      expect(lines.filter((l) => l.startsWith('leased'))).toEqual([]);

      await setIdleMs(10 * 60_000);
      await waitFor(async () => lines.some((l) => l.startsWith('leased')), 20_000, 'a lease once idle');
      expect(lines.some((l) => l.startsWith('sandbox: bwrap'))).toBe(true);
      // The run is under way (in its sandbox) when the owner comes back.
      await new Promise((r) => setTimeout(r, 2_500));
      await setIdleMs(500);
      await waitFor(async () => w.agent.reports.length >= 1, 20_000, 'the job given back');
      expect(w.agent.reports[0]).toMatchObject({ outcome: null, released: true });
      expect(lines.some((l) => /owner is back \(the user was active/.test(l))).toBe(true);
      // Nothing of the half run was recorded.
      expect(await coord.admin.results.query({ track: 'slow' })).toEqual([]);

      await setIdleMs(10 * 60_000);
      await waitFor(
        async () => w.agent.reports.some((r) => r.outcome?.status === 'ok'),
        60_000,
        'a finished run',
      );
      const rows = await coord.admin.results.query({ track: 'slow' });
      expect(rows.length).toBeGreaterThanOrEqual(1);
    } finally {
      await w.stop();
    }
  });
});
