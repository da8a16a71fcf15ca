/**
 * The portability matrix through the real stack (Redis, git, HTTP, Python runs): a gain is
 * merged on one class; a second class that runs the track — off when the gain merges — gets
 * the measurement queued at low priority, runs it after its own head baselines, and the
 * matrix shows the gain held where it was found and reversed where the code behaves the
 * other way. results.tsv stays per class.
 */
import { rm } from 'node:fs/promises';
import { FINAL_PROPOSAL_STATUSES, type HardwareProfile } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterAll, describe, expect, it } from 'vitest';
import {
  qualityPatch,
  startAgent,
  startCoordinator,
  type TestCoordinator,
  waitFor,
} from './support/harness.ts';
import { spawnCli } from './support/procs.ts';
import { recordingTrack } from './support/recording-track.ts';

let tc: TestCoordinator | undefined;
const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops) await s().catch(() => {});
  await tc?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const profile: HardwareProfile = {
  backend: 'cpu',
  os: 'linux',
  arch: 'x64',
  cpuModel: 'stand-in',
  cpuCores: 2,
  memoryGb: 1,
  gpus: [],
  chip: null,
};

describe('the portability matrix', () => {
  it('queues a merged gain for every other class and shows it held on one, reversed on another', async () => {
    const track = await recordingTrack({ id: 'port', backends: ['cpu'] });
    dirs.push(track);
    tc = await startCoordinator({ RATCHET_TRACKS: track });
    // Trusted: alpha is alone on its class and must confirm its own screens.
    const { token } = await tc.admin.tokens.create.mutate({ role: 'worker', name: 'classes', trusted: true });
    // A machine of class cpu-beta that runs the track, switched off for now.
    await createClient(tc.url, token).workers.register.mutate({
      name: 'beta-offline',
      profile: { ...profile, classOverride: 'cpu-beta' },
    });
    const before = (await tc.admin.tracks.get.query({ id: 'port' })).head;

    const alpha = await startAgent(tc.url, token, { name: 'alpha', hardwareClass: 'cpu-alpha' });
    stops.push(alpha.stop);
    const { proposal } = await tc.admin.proposals.submit.mutate({
      track: 'port',
      patch: qualityPatch('1.000000', '0.950000'),
      description: 'lower QUALITY to 0.95',
    });
    const merged = await waitFor(
      async () => {
        const p = await tc!.admin.proposals.get.query({ id: proposal.id });
        return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
      },
      120_000,
      'the merge',
    );
    expect(merged.status).toBe('merged');
    await alpha.stop();

    const m1 = await tc.admin.portability.matrix.query({ track: 'port' });
    expect(m1.classes).toEqual(['cpu-alpha', 'cpu-beta']);
    expect(m1.rows).toHaveLength(1);
    const row = m1.rows[0]!;
    expect(row).toMatchObject({ commit: merged.mergedCommit, parent: before, originClass: 'cpu-alpha' });
    expect(row.description).toBe('lower QUALITY to 0.95');
    const [a1, b1] = row.cells;
    expect(a1).toMatchObject({ hardwareClass: 'cpu-alpha', state: 'held', origin: true, significant: true });
    expect(a1!.delta).toBeCloseTo(-0.05, 6);
    expect(b1).toMatchObject({ hardwareClass: 'cpu-beta', state: 'not_measured', queued: true, n: 0, m: 0 });
    // The parent's runs on cpu-beta wait in that class's low-priority queue.
    const queued = (await tc.admin.experiments.list.query({ track: 'port' })).filter(
      (e) => e.hardwareClass === 'cpu-beta',
    );
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.every((e) => e.base === before && e.kind === 'baseline' && e.status === 'queued')).toBe(
      true,
    );

    // cpu-beta comes online; on it, lower QUALITY is worse.
    const beta = await startAgent(tc.url, token, {
      name: 'beta',
      hardwareClass: 'cpu-beta',
      extraEnv: { STANDIN_REVERSED: '1' },
    });
    stops.push(beta.stop);
    const b2 = await waitFor(
      async () => {
        const m = await tc!.admin.portability.matrix.query({ track: 'port' });
        const c = m.rows[0]?.cells.find((x) => x.hardwareClass === 'cpu-beta');
        return c && c.state !== 'not_measured' && !c.queued ? c : null;
      },
      120_000,
      'the measurement on cpu-beta',
    );
    expect(b2).toMatchObject({ state: 'reversed', origin: false, significant: true });
    expect(b2.delta).toBeCloseTo(0.05, 6);
    expect(b2.commitMean).toBeCloseTo(1.05, 6);
    expect(b2.parentMean).toBeCloseTo(1.0, 6);

    // Its own head came first: the low-priority runs were leased after the head's baselines.
    const onBeta = (await tc.admin.experiments.list.query({ track: 'port' }))
      .filter((e) => e.hardwareClass === 'cpu-beta' && e.leasedAt !== null)
      .sort((x, y) => x.leasedAt! - y.leasedAt!);
    expect(onBeta[0]!.base).toBe(merged.mergedCommit);
    const firstLater = onBeta.findIndex((e) => e.base === before);
    expect(onBeta.slice(firstLater).every((e) => e.base === before)).toBe(true);

    // results.tsv per class: upstream's file for cpu-beta holds only cpu-beta's runs.
    const tsv = await (
      await fetch(`${tc.url}/tracks/port/results.tsv?class=cpu-beta`, {
        headers: { authorization: `Bearer ${tc.c.adminToken}` },
      })
    ).text();
    const rows = tsv
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r[5]))).toEqual(new Set(['cpu-beta']));

    // The CLI prints the matrix.
    const cli = spawnCli([
      'results',
      '--track',
      'port',
      '--matrix',
      '--coordinator',
      tc.url,
      '--token',
      tc.c.adminToken,
    ]);
    expect(await cli.exit(60_000)).toBe(0);
    const out = cli.output();
    expect(out).toMatch(/commit\s+description\s+cpu-alpha\s+cpu-beta/);
    expect(out).toMatch(
      new RegExp(
        `${merged.mergedCommit!.slice(0, 7)}\\s+lower QUALITY to 0\\.95\\s+-0\\.050000 held \\*\\s+\\+0\\.050000 reversed`,
      ),
    );
  }, 300_000);
});
