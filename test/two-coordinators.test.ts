/**
 * Two coordinator processes behind one Redis and one data dir, workers on both, completions
 * arriving at both at once: every winner merges exactly once, on one linear history.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINAL_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterAll, expect, it } from 'vitest';
import { type CoordinatorProcess, startCoordinatorProcess } from './support/coordinator-process.ts';
import { cleanRedis, qualityPatch, STANDIN_TRACK, uniquePrefix, waitFor } from './support/harness.ts';
import { bonusPatch, createSimWorker, standinLandscape } from './support/sim-worker.ts';

const prefix = uniquePrefix('two');
let dataDir = '';
const coords: CoordinatorProcess[] = [];
const sims: ReturnType<typeof createSimWorker>[] = [];
const running: Promise<void>[] = [];
afterAll(async () => {
  for (const s of sims) s.stop();
  await Promise.allSettled(running);
  for (const c of coords) await c.close();
  await cleanRedis(prefix);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('merges each winner once when two coordinators share Redis and the data dir', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ratchet-two-'));
  const env = {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    RATCHET_DATA_DIR: dataDir,
    RATCHET_REDIS_PREFIX: prefix,
    RATCHET_ADMIN_TOKEN: 'two-coordinators-admin-token',
    RATCHET_TRACKS: STANDIN_TRACK,
    RATCHET_REBASE_ON_LEASE: '0',
  };
  // One after the other: the first imports the track, the second finds it.
  coords.push(await startCoordinatorProcess(env));
  coords.push(await startCoordinatorProcess(env));
  const [a, b] = coords.map((c) => createClient(c.url, env.RATCHET_ADMIN_TOKEN));
  const base = (await a!.tracks.get.query({ id: 'standin' })).head;
  const git = (...args: string[]) =>
    execFileSync('git', ['--git-dir', join(dataDir, 'frontier.git'), ...args], { encoding: 'utf8' }).trim();
  const commitsBefore = Number(git('rev-list', '--count', base));

  for (const [i, c] of coords.entries()) {
    for (const n of [0, 1]) {
      // One token per worker: results under one token never confirm each other.
      const { token } = await a!.tokens.create.mutate({ role: 'worker', name: `sim-${i}${n}` });
      const w = createSimWorker({
        url: c.url,
        token,
        name: `w${i}${n}`,
        file: 'train.py',
        landscape: standinLandscape,
        // Below the σ floor: this test is about replicas sharing one frontier, not statistics.
        // With σ near the gains, a young noise estimate can call a real gain's screen
        // "contradicted" by its confirmation, which is the acceptance rule's business.
        sigma: 0.00005,
        seed: i * 10 + n + 1,
      });
      sims.push(w);
      running.push(w.run());
    }
  }
  // Two winners on different lines, submitted to different coordinators.
  const p1 = await a!.proposals.submit.mutate({
    track: 'standin',
    patch: qualityPatch('1.000000', '0.970000'),
    description: 'lower QUALITY',
  });
  const p2 = await b!.proposals.submit.mutate({
    track: 'standin',
    patch: bonusPatch('0.020000'),
    description: 'add BONUS',
  });
  const final = (id: string) =>
    waitFor(
      async () => {
        const p = await a!.proposals.get.query({ id });
        return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
      },
      120_000,
      `proposal ${id}`,
    );
  const done: Proposal[] = await Promise.all([final(p1.proposal.id), final(p2.proposal.id)]);
  expect(done.map((p) => `${p.status}${p.status === 'merged' ? '' : `: ${p.verdictReason}`}`)).toEqual([
    'merged',
    'merged',
  ]);

  // Both coordinators see the same head; it holds both changes, each merged once.
  const heads = await Promise.all(
    coords.map((c) => createClient(c.url, env.RATCHET_ADMIN_TOKEN).tracks.get.query({ id: 'standin' })),
  );
  expect(heads[0]!.head).toBe(heads[1]!.head);
  const head = heads[0]!.head;
  expect(Number(git('rev-list', '--count', head))).toBe(commitsBefore + 2);
  expect(git('rev-list', '--merges', head)).toBe('');
  for (const p of done) expect(git('merge-base', '--is-ancestor', p.mergedCommit!, head)).toBe('');
  expect(new Set(done.map((p) => p.mergedCommit)).size).toBe(2);
  const file = (await a!.tracks.file.query({ id: 'standin', commit: head, path: 'train.py' })).content;
  expect(file).toContain('QUALITY = 0.970000');
  expect(file).toContain('BONUS = 0.020000');
  // Runs were recorded, by the workers of both coordinators.
  const exps = await a!.experiments.list.query({ track: 'standin' });
  expect(exps.filter((e) => e.recordedAt !== null).length).toBeGreaterThan(4);
}, 180_000);
