/**
 * Crashes, outages and leaks on the worker's side, with real processes: a real coordinator,
 * real `ratchet worker` processes killed with SIGKILL while a real train.py runs, a loopback
 * proxy that drops the coordinator during a checkout, and a worker whose environment holds
 * fake secrets that its train.py tries to read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Experiment } from '@ratchet/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultTrackFiles, pidsDir, startFlakyProxy } from './support/fault-track.ts';
import { PYTHON, startCoordinator, type TestCoordinator, waitFor } from './support/harness.ts';
import { type Proc, spawnCli } from './support/procs.ts';

let t: TestCoordinator;
let root: string;
let control: string;
let token: string;
const procs: Proc[] = [];
const trainPids: number[] = [];

/** Running, not a zombie: an orphan's zombie lingers until init reaps it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function setMode(mode: string) {
  await writeFile(join(control, 'mode'), mode);
}

/** The job id and pid of the next train.py to start (one not seen before). */
async function nextTrainPid(seen: Set<string>, w: Proc): Promise<{ job: string; pid: number }> {
  return waitFor(
    async () => {
      for (const job of await readdir(pidsDir(control))) {
        if (job.endsWith('.tmp') || seen.has(job)) continue;
        seen.add(job);
        const pid = Number(await readFile(join(pidsDir(control), job), 'utf8'));
        trainPids.push(pid);
        return { job, pid };
      }
      return null;
    },
    60_000,
    'a train.py to start',
  ).catch((e: Error) => {
    throw new Error(`${e.message}; the worker said:\n${w.output()}`);
  });
}

function spawnWorker(workDir: string, env: NodeJS.ProcessEnv = {}, url = t.url): Proc {
  const p = spawnCli(
    [
      'worker',
      '--coordinator',
      url,
      '--token-file',
      join(root, 'worker.token'),
      '--python',
      PYTHON,
      '--workdir',
      workDir,
    ],
    env,
  );
  procs.push(p);
  return p;
}

let variants = 0;
/** Queue one more run: a proposal that only adds a comment to train.py. */
async function submitRun(): Promise<void> {
  variants++;
  await t.admin.proposals.submit.mutate({
    track: 'faults',
    patch: [
      '--- a/train.py',
      '+++ b/train.py',
      '@@ -1,2 +1,2 @@',
      '-',
      `+# variant ${variants}`,
      ' import json, os, sys, time',
      '',
    ].join('\n'),
    description: `variant ${variants}`,
    proposer: 'faults-test',
  });
}

/** The first run the worker reports as finished, as the coordinator recorded it. */
async function recorded(w: Proc): Promise<Experiment> {
  const id = (await w.waitForLine(/finished (\S+):/, 60_000))[1]!;
  return waitFor(
    async () => {
      const e = await t.admin.experiments.get.query({ id });
      return e.recordedAt !== null ? e : null;
    },
    30_000,
    `experiment ${id} to be recorded`,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; the worker said:\n${w.output()}`);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ratchet-faults-'));
  control = join(root, 'control');
  await mkdir(pidsDir(control), { recursive: true });
  t = await startCoordinator({ RATCHET_TRACKS: '', RATCHET_LEASE_TTL_MS: '4000' });
  await t.admin.tracks.add.mutate({ files: faultTrackFiles(control) });
  token = (await t.admin.tokens.create.mutate({ role: 'worker', name: 'faults' })).token;
  await writeFile(join(root, 'worker.token'), `${token}\n`, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  for (const pid of trainPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await t?.close();
  await rm(root, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')('worker faults', () => {
  const seen = new Set<string>();

  it('ends the training run when its worker is killed with SIGKILL, and keeps the token off argv', async () => {
    await setMode('sleep');
    await submitRun();
    const w = spawnWorker(join(root, 'w1'));
    const { pid } = await nextTrainPid(seen, w);
    expect(alive(pid)).toBe(true);
    const cmdline = readFileSync(`/proc/${w.child.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(token);
    w.child.kill('SIGKILL');
    await waitFor(async () => !alive(pid), 10_000, `train.py ${pid} to end with its worker`);
  }, 90_000);

  it('kills what a killed worker left running when a worker restarts on its work dir', async () => {
    await setMode('sleep');
    await submitRun();
    const workDir = join(root, 'w2');
    const w = spawnWorker(workDir);
    const { pid } = await nextTrainPid(seen, w);
    // Worker and everything between it and train.py die at once: nothing is left to clean up.
    const between: number[] = [];
    for (let p = parentOf(pid); p !== w.child.pid && p > 1; p = parentOf(p)) between.push(p);
    w.child.kill('SIGKILL');
    for (const p of between) process.kill(p, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(pid)).toBe(true);
    await mkdir(join(workDir, 'jobs', 'left-behind'), { recursive: true });
    await writeFile(join(workDir, 'jobs', 'left-behind', 'train.py'), '# an old checkout\n');

    await setMode('quick');
    const again = spawnWorker(workDir);
    await again.waitForLine(/registered as/, 30_000);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(workDir, 'jobs', 'left-behind'))).toBe(false);
    await again.stop('SIGTERM');
  }, 120_000);

  it('retries a checkout through a coordinator outage instead of charging the run', async () => {
    await setMode('quick');
    const proxy = await startFlakyProxy(t.url);
    await submitRun();
    try {
      proxy.outageAfterNextLease(2_000);
      const w = spawnWorker(join(root, 'w3'), {}, proxy.url);

      const exp = await recorded(w);
      expect(proxy.leased[0]).toBeDefined();
      const first = await t.admin.experiments.get.query({ id: proxy.leased[0]! });
      expect(first.crash).toBeNull();
      expect(exp.crash).toBeNull();
      expect(exp.metrics?.val_bpb).toBe(1);
      await w.stop('SIGTERM');
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('gives train.py only its allowlist, and redacts what it reads of its worker', async () => {
    await setMode('dump');
    const secrets = {
      REDIS_URL: 'redis://:s3cretRedisPass@10.0.0.5:6379',
      DATABASE_URL: 'postgres://app:hunter2hunter2@db:5432/app',
      DB_PASS: 'correct-horse-battery',
      GITHUB_PAT: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/Xk2Lm9Qp3Rs7Tv4W',
      SSH_AUTH_SOCK: '/tmp/ssh-faults/agent.42',
      MY_SETTING: t.c.adminToken,
      RATCHET_TOKEN: token,
    };
    await writeFile(join(control, 'probe'), JSON.stringify(Object.keys(secrets)));
    await submitRun();
    const w = spawnWorker(join(root, 'w4'), secrets);

    const exp = await recorded(w);
    await w.stop('SIGTERM');
    const env = JSON.parse(await readFile(join(control, `env-${exp.id}.json`), 'utf8')) as Record<
      string,
      string
    >;
    for (const name of Object.keys(secrets)) expect(env[name]).toBeUndefined();
    const values = Object.values(env).join('\n');
    for (const v of Object.values(secrets)) expect(values).not.toContain(v);
    expect(env.RATCHET_SEED).toBeDefined();
    expect(env.PATH).toBeDefined();

    // The probe did read the worker's environment; none of it reached the coordinator.
    expect(exp.logTail).toContain('SECRET-PROBE DATABASE_URL=');
    expect(exp.logTail).toContain('SECRET-PROBE MY_SETTING=');
    for (const v of Object.values(secrets).filter((s) => !s.startsWith('/tmp/')))
      expect(exp.logTail).not.toContain(v);
    for (const pw of ['s3cretRedisPass', 'hunter2hunter2']) expect(exp.logTail).not.toContain(pw);
  }, 120_000);

  it('reports a result the coordinator refuses as invalid once, as a crash', async () => {
    await setMode('huge-extra');
    await submitRun();
    const w = spawnWorker(join(root, 'w5'));

    const exp = await recorded(w);
    await w.stop('SIGTERM');
    expect(exp.crash?.message).toMatch(/refused this run's result as invalid/);
    expect(w.output()).toMatch(new RegExp(`result for ${exp.id} refused \\(RATCHET_E_BAD_INPUT\\)`));
  }, 120_000);
});
