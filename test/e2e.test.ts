/**
 * End to end: a coordinator and two worker processes (real Redis, git, Python, HTTP) on the
 * stand-in track. A better and a worse proposal are submitted; exactly the better one is
 * merged (screened, then confirmed on the other worker) with its trailers, both appear in
 * results.tsv, and `git clone` shows the merge.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FINAL_PROPOSAL_STATUSES } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanRedis, PYTHON, qualityPatch, STANDIN_TRACK, uniquePrefix, waitFor } from './support/harness.ts';
import { isAlive, type Proc, spawnCli } from './support/procs.ts';

const run = promisify(execFile);
const procs: Proc[] = [];
const dirs: string[] = [];

const prefix = uniquePrefix('e2e');
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await cleanRedis(prefix);
});

describe('the research loop, end to end', () => {
  it('merges exactly the better of two proposals, with trailers, visible over git', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-e2e-'));
    dirs.push(dataDir);
    const coord = spawnCli(['coordinator', '--port', '0', '--data-dir', dataDir, '--track', STANDIN_TRACK], {
      RATCHET_REDIS_PREFIX: prefix,
      RATCHET_LOG_LEVEL: 'warn',
    });
    procs.push(coord);
    const url = (await coord.waitForLine(/listening on (http:\/\/\S+)/, 30_000))[1]!;
    const adminToken = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
    const admin = createClient(url, adminToken);
    // One token per machine: results under one token never confirm each other.
    const tokens = await Promise.all(
      [1, 2].map(async (i) => (await admin.tokens.create.mutate({ role: 'worker', name: `e2e-${i}` })).token),
    );

    const workers = [1, 2].map((i) => {
      const p = spawnCli(
        [
          'worker',
          '--coordinator',
          url,
          '--python',
          PYTHON,
          '--workdir',
          join(dataDir, `w${i}`),
          '--name',
          `e2e-${i}`,
        ],
        { RATCHET_TOKEN: tokens[i - 1]! },
      );
      procs.push(p);
      return p;
    });
    await Promise.all(workers.map((w) => w.waitForLine(/registered as/, 30_000)));
    // The head's baseline on this class comes first.
    await waitFor(
      async () => (await admin.results.query({ track: 'standin' })).length >= 1,
      120_000,
      'the baseline',
    );

    const better = await admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.950000'),
      description: 'lower QUALITY to 0.95',
      proposer: 'e2e',
    });
    const worse = await admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '1.050000'),
      description: 'raise QUALITY to 1.05',
      proposer: 'e2e',
    });
    const final = (id: string) =>
      waitFor(
        async () => {
          const p = await admin.proposals.get.query({ id });
          return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
        },
        120_000,
        `proposal ${id}`,
      );
    const [b, w] = await Promise.all([final(better.proposal.id), final(worse.proposal.id)]);
    expect(b.status).toBe('merged');
    expect(w.status).toBe('discarded');

    const track = await admin.tracks.get.query({ id: 'standin' });
    expect(track.head).toBe(b.mergedCommit);

    const tsv = await (
      await fetch(`${url}/tracks/standin/results.tsv`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).text();
    const rows = tsv
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(rows[0]!.slice(0, 5)).toEqual(['commit', 'val_bpb', 'memory_gb', 'status', 'description']);
    expect(rows.find((r) => r[4] === 'lower QUALITY to 0.95')?.slice(0, 4)).toEqual([
      b.mergedCommit!.slice(0, 7),
      '0.950000',
      '0.0',
      'keep',
    ]);
    expect(rows.find((r) => r[4] === 'raise QUALITY to 1.05')?.slice(1, 4)).toEqual([
      '1.050000',
      '0.0',
      'discard',
    ]);
    // Baseline replicates of the base until the class's noise estimate has ν ≥ 4: five runs of
    // one commit, or four when the winner's two runs (baselines of its merge commit, once
    // verified) counted first; the merge commit may have begun its own.
    const baseRows = rows.filter((r) => r[4] === 'baseline' && r[0] === b.base.slice(0, 7));
    expect(baseRows.length).toBeGreaterThanOrEqual(4);
    expect(baseRows.length).toBeLessThanOrEqual(5);
    expect(new Set(baseRows.map((r) => r[1]))).toEqual(new Set(['1.000000']));
    // The untrusted screener's winner was confirmed by the other worker.
    const winnerRuns = rows.filter((r) => r[4] === 'lower QUALITY to 0.95');
    expect(winnerRuns.map((r) => r[9])).toEqual(['screen', 'confirm']);
    expect(new Set(winnerRuns.map((r) => r[6])).size).toBe(2);

    const clone = join(dataDir, 'clone');
    const basic = Buffer.from(`ratchet:${adminToken}`).toString('base64');
    await run('git', [
      '-c',
      `http.extraHeader=Authorization: Basic ${basic}`,
      'clone',
      '-q',
      '-b',
      'tracks/standin',
      `${url}/git/frontier.git`,
      clone,
    ]);
    expect(await readFile(join(clone, 'train.py'), 'utf8')).toContain('QUALITY = 0.950000');
    const { stdout: msg } = await run('git', ['-C', clone, 'log', '-1', '--format=%B']);
    expect(msg).toContain('lower QUALITY to 0.95');
    for (const trailer of [
      'Ratchet-Experiment',
      'Ratchet-Hardware',
      'Ratchet-Val-Bpb: 0.950000',
      'Ratchet-Delta: -0.050000',
      'Ratchet-Proposer: e2e',
      'Ratchet-Replicates: 2',
    ]) {
      expect(msg).toContain(trailer);
    }
    const { stdout: count } = await run('git', ['-C', clone, 'rev-list', '--count', 'HEAD']);
    expect(count.trim()).toBe('2');

    // Graceful shutdown: every process exits on SIGTERM and leaves nothing behind.
    const pids = [coord, ...workers].map((p) => p.child.pid!);
    expect(await Promise.all(workers.map((p) => p.stop('SIGTERM')))).toEqual([0, 0]);
    expect(await coord.stop('SIGTERM')).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
  }, 300_000);
});
