/**
 * Tokens for a volunteer pool against a real coordinator: expiry, revocation that takes a
 * live lease back at once, hourly limits on proposals and leases, the audit trail, and the
 * `ratchet token list|revoke` and `ratchet audit` commands as real processes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FINAL_PROPOSAL_STATUSES } from '@ratchet/shared';
import { createClient, errorCode } from '@ratchet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  qualityPatch,
  ROOT,
  startAgent,
  startCoordinator,
  type TestCoordinator,
  TSX_LOADER,
  waitFor,
} from './support/harness.ts';
import { writeSlowTrack } from './support/slow-track.ts';

const exec = promisify(execFile);
let dir: string;
let coord: TestCoordinator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-tokens-'));
  const slow = await writeSlowTrack(dir, 'slow', 20);
  coord = await startCoordinator({ RATCHET_TRACKS: `${join(ROOT, 'test', 'fixtures', 'standin')},${slow}` });
});
afterAll(async () => {
  await coord?.close();
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return errorCode(e);
  }
}

function cli(args: string[]) {
  return exec(process.execPath, [
    '--import',
    TSX_LOADER,
    CLI,
    ...args,
    '--coordinator',
    coord.url,
    '--token',
    coord.c.adminToken,
  ]);
}

describe('tokens for a volunteer pool', () => {
  it('refuses an expired token with its own code', async () => {
    const { token } = await coord.admin.tokens.create.mutate({
      role: 'worker',
      name: 'short',
      expiresInS: 1,
    });
    const c = createClient(coord.url, token);
    expect((await c.health.query()).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await codeOf(c.health.query())).toBe('RATCHET_E_TOKEN_EXPIRED');
  });

  it('limits proposals and leases per token and hour', async () => {
    const { token: p } = await coord.admin.tokens.create.mutate({
      role: 'proposer',
      name: 'eager',
      proposalsPerHour: 2,
    });
    const proposer = createClient(coord.url, p);
    const submit = (to: string) =>
      proposer.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('1.000000', to),
        description: `to ${to}`,
      });
    await submit('0.990000');
    await submit('0.980000');
    expect(await codeOf(submit('0.970000'))).toBe('RATCHET_E_RATE_LIMITED');

    const { token: w } = await coord.admin.tokens.create.mutate({
      role: 'worker',
      name: 'one-lease',
      leasesPerHour: 1,
    });
    const worker = createClient(coord.url, w);
    const reg = await worker.workers.register.mutate({
      name: 'limited',
      profile: {
        backend: 'cpu',
        os: 'linux',
        arch: 'x64',
        cpuModel: 'test cpu',
        cpuCores: 2,
        memoryGb: 4,
        gpus: [],
      },
      tracks: ['standin'],
    });
    const first = await worker.workers.lease.mutate({ workerId: reg.workerId, waitMs: 5_000 });
    expect(first.lease).not.toBeNull();
    expect(await codeOf(worker.workers.lease.mutate({ workerId: reg.workerId, waitMs: 0 }))).toBe(
      'RATCHET_E_RATE_LIMITED',
    );
    await worker.workers.release.mutate({
      workerId: reg.workerId,
      experimentId: first.lease!.experimentId,
      leaseToken: first.lease!.leaseToken,
      reason: 'test',
    });
  });

  it("revokes at once: the worker's live lease goes back to the queue and its result is refused", async () => {
    const { token } = await coord.admin.tokens.create.mutate({ role: 'worker', name: 'vol-gone' });
    const lines: string[] = [];
    const w = await startAgent(coord.url, token, { log: (m) => lines.push(m), tracks: ['slow'] });
    const running = waitFor(async () => lines.find((l) => l.startsWith('leased')), 30_000, 'a lease');
    const leased = await running;
    const expId = /leased \S+ (\S+)/.exec(leased)![1]!;
    await waitFor(
      async () => (await coord.admin.experiments.get.query({ id: expId })).status === 'running',
      10_000,
      'running',
    );

    const { stdout } = await cli(['token', 'revoke', 'vol-gone']);
    expect(stdout).toMatch(/^revoked [0-9a-f]{16} \(vol-gone, worker\)/);
    expect(stdout).toContain(`took back 1 live lease(s): ${expId}`);
    const exp = await coord.admin.experiments.get.query({ id: expId });
    expect(exp.status).toBe('queued');
    // Every call with the token is refused from now on; the worker stops its run and itself.
    expect(await codeOf(createClient(coord.url, token).health.query())).toBe('RATCHET_E_TOKEN_REVOKED');
    await waitFor(
      async () => lines.some((l) => l.includes('token refused (RATCHET_E_TOKEN_REVOKED)')),
      20_000,
      'the worker to notice',
    );
    await w.stop().catch(() => {});
    expect(w.agent.reports.every((r) => r.outcome === null)).toBe(true);

    const list = await cli(['token', 'list']);
    expect(list.stdout).toMatch(/vol-gone\s+worker\s+revoked/);
    expect(list.stdout).toMatch(/short\s+worker\s+expired/);
    expect(list.stdout).toMatch(/eager\s+proposer\s+live/);
    expect(list.stdout).not.toContain('rt_');
  });

  it('keeps an audit trail of who proposed, ran and merged what', async () => {
    const { token: p } = await coord.admin.tokens.create.mutate({ role: 'proposer', name: 'alice' });
    // A lab machine: trusted, so that it may confirm its own screens alone.
    const { token: w } = await coord.admin.tokens.create.mutate({
      role: 'worker',
      name: 'lab',
      trusted: true,
    });
    const sub = await createClient(coord.url, p).proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.960000'),
      description: 'much better',
      proposer: 'alice-agent',
    });
    const agent = await startAgent(coord.url, w, { tracks: ['standin'] });
    // Proposals of the limits test change the same line: whichever merges first wins, the others conflict.
    let merged: { id: string; proposer: string }[] = [];
    try {
      merged = await waitFor(
        async () => {
          const all = await coord.admin.proposals.list.query({ track: 'standin' });
          const done = all.every((x) => FINAL_PROPOSAL_STATUSES.includes(x.status));
          const m = all.filter((x) => x.status === 'merged');
          return done && m.length > 0 ? m : null;
        },
        120_000,
        'every proposal decided and one merged',
      );
    } finally {
      await agent.stop();
    }
    const { stdout } = await cli(['audit', '--json']);
    const rows = JSON.parse(stdout) as { actor: string; action: string; subject: string; detail: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ action: 'propose', subject: sub.proposal.id }));
    expect(rows.find((r) => r.subject === sub.proposal.id && r.action === 'propose')?.actor).toMatch(
      /^alice \(/,
    );
    expect(rows.some((r) => r.action === 'run' && r.actor.startsWith('lab ('))).toBe(true);
    expect(rows.some((r) => r.action === 'lease' && r.actor.startsWith('lab ('))).toBe(true);
    for (const m of merged)
      expect(rows).toContainEqual(
        expect.objectContaining({ action: 'merge', subject: m.id, actor: m.proposer }),
      );
    expect(rows).toContainEqual(expect.objectContaining({ action: 'token.revoke', detail: 'vol-gone' }));
  });
});
