/** One leased job, start to finish: checkout, patch, prepare, run, parse. */
import { open, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type JobOutcome, type Lease, logTail, parseRunLog, runCommandFor, toError } from '@ratchet/shared';
import { lowPriorityPrefix } from '../folding/priority.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { prepareCheckout } from '../workspace/checkout.ts';
import { ensureData } from '../workspace/data.ts';
import { jobEnv, resolveArgv } from './env.ts';
import { INFRA_RETRY, InfraError, type RetryPolicy, withInfraRetry } from './infra.ts';
import { anySignal, type ContainedRun, ensurePrepared } from './prepare.ts';
import { runProcess } from './process.ts';
import { runScope } from './reap.ts';
import { knownSecrets, redact } from './secrets.ts';
import type { Serial } from './serial.ts';
import { ensureSynced } from './sync.ts';
import { resolveToolchain } from './toolchain.ts';

type WithoutTimings<T> = T extends unknown ? Omit<T, 'timings'> : never;

export interface JobContext {
  coordinatorUrl: string;
  token: string;
  python: string;
  workDir: string;
  cacheDir: string;
  lowPriority: boolean;
  extraEnv: Record<string, string>;
  signal: AbortSignal;
  /** Shared by the slots of one process: data fetches and prepare steps run one at a time. */
  serial?: Serial;
  /** Folding mode on volunteers' machines: run prepare and training contained. */
  sandbox?: Sandbox | undefined;
  /** How fetches and cache I/O are retried before the job is given back. */
  infraRetry?: RetryPolicy;
}

export function jobLogFile(ctx: JobContext, lease: Lease): string {
  return join(ctx.workDir, 'jobs', `${lease.experimentId}.log`);
}

/** Last bytes of the job's log, for heartbeats (progress) and the report (tail). */
export async function readLogTail(file: string, maxBytes = 8000): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, maxBytes);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

export async function executeJob(ctx: JobContext, lease: Lease): Promise<JobOutcome> {
  const leasedAt = Date.now();
  const jobsDir = join(ctx.workDir, 'jobs');
  const t = {
    leasedAt,
    checkoutMs: 0,
    prepareMs: 0,
    trainStartAt: null as number | null,
    trainExitAt: null as number | null,
  };
  // What leaves the machine holds no secret the worker knows, whatever the run printed.
  const secrets = knownSecrets({ ...process.env, ...ctx.extraEnv }, [ctx.token]);
  const finish = (o: WithoutTimings<JobOutcome>): JobOutcome =>
    ({
      ...o,
      logTail: redact(o.logTail, secrets),
      ...('message' in o ? { message: redact(o.message, secrets) } : {}),
      timings: { ...t, reportedAt: Date.now() },
    }) as JobOutcome;
  const retry = ctx.infraRetry ?? INFRA_RETRY;
  const scope = runScope(ctx.workDir);

  // The tools the track runs (uv, its interpreter) must be here before anything is fetched.
  const dataDir = join(ctx.cacheDir, 'data');
  const env = jobEnv(
    process.env,
    {
      budgetS: lease.track.budgetS,
      seed: lease.seed,
      jobId: lease.experimentId,
      dataDir,
      trackEnv: lease.track.env ?? [],
    },
    secrets,
    ctx.extraEnv,
  );
  const tools = { platform: process.platform, env, home: homedir() };
  const runTool = resolveToolchain(
    resolveArgv(runCommandFor(lease.track, process.platform), ctx.python),
    tools,
  );
  const prepTool = lease.track.prepare
    ? resolveToolchain(resolveArgv(lease.track.prepare, ctx.python), tools)
    : null;
  const syncTool = lease.track.sync ? resolveToolchain(lease.track.sync.argv, tools) : null;
  for (const c of [syncTool, prepTool, runTool]) {
    if (c && !c.ok)
      return finish({ status: 'crash', reason: 'other', code: c.code, message: c.message, logTail: '' });
  }

  // A fetch that fails is the network's or the coordinator's fault, not the proposal's.
  const checkout = await withInfraRetry(
    'checkout',
    () =>
      prepareCheckout({
        jobsDir,
        jobId: lease.experimentId,
        gitUrl: `${ctx.coordinatorUrl.replace(/\/+$/, '')}${lease.gitPath}`,
        token: ctx.token,
        commit: lease.baseCommit,
        patch: lease.patch,
      }),
    retry,
    ctx.signal,
  );
  t.checkoutMs = Date.now() - leasedAt;
  if (!checkout.ok) return finish({ status: 'patch_failed', message: checkout.patchError, logTail: '' });

  const serial: Serial = ctx.serial ?? ((_key, fn) => fn());
  await withInfraRetry(
    'track data',
    () =>
      serial('data', () =>
        ensureData({
          coordinatorUrl: ctx.coordinatorUrl,
          token: ctx.token,
          names: lease.track.data,
          dir: dataDir,
        }),
      ),
    retry,
    ctx.signal,
  );
  const sandbox = ctx.sandbox;
  const trackCacheDir = join(ctx.cacheDir, 'tracks', lease.track.id);
  const jobVars: Record<string, string> = { ...ctx.extraEnv };
  for (const k of ['RATCHET_TIME_BUDGET_S', 'RATCHET_SEED', 'RATCHET_JOB_ID', 'RATCHET_DATA_DIR']) {
    if (env[k] !== undefined) jobVars[k] = env[k];
  }
  /** The synced environment's variables (its folder): visible, read-only, to prepare and training. */
  let syncedEnv: Record<string, string> = {};
  const contain = (argv: string[], prepare: boolean): Promise<ContainedRun> =>
    sandbox!.contain({
      argv,
      checkoutDir: checkout.dir,
      trackCacheDir,
      writableCache: prepare,
      readOnly: [dataDir, ...Object.values(syncedEnv)],
      network: prepare && lease.track.prepareNetwork === true,
      env: { ...jobVars, ...syncedEnv },
    });
  const prepStart = Date.now();
  const sync = lease.track.sync && syncTool?.ok ? { ...lease.track.sync, argv: syncTool.argv } : null;
  const synced = await serial(`sync:${lease.track.id}`, () =>
    cacheIo(() =>
      ensureSynced({
        sync,
        cacheDir: ctx.cacheDir,
        cwd: checkout.dir,
        env,
        hardTimeoutS: lease.track.hardTimeoutS,
        signal: ctx.signal,
        scope,
      }),
    ),
  );
  if (!synced.ok) {
    t.prepareMs = Date.now() - prepStart;
    return finish({
      status: 'crash',
      reason: 'other',
      message: synced.message,
      logTail: logTail(synced.log),
    });
  }
  Object.assign(env, synced.env);
  syncedEnv = synced.env;
  const prep = await serial(`prepare:${lease.track.prepareHash}`, () =>
    cacheIo(() =>
      ensurePrepared({
        argv: prepTool?.ok ? prepTool.argv : null,
        // A sandboxed prepare writes into the track's own cache, not the user's: a separate marker.
        prepareHash: sandbox ? `${lease.track.prepareHash}-sandbox` : lease.track.prepareHash,
        ...(sandbox ? { contain: (argv: string[]) => contain(argv, true) } : {}),
        cacheDir: ctx.cacheDir,
        cwd: checkout.dir,
        env,
        hardTimeoutS: lease.track.hardTimeoutS,
        signal: ctx.signal,
        scope,
      }),
    ),
  );
  t.prepareMs = Date.now() - prepStart;
  if (!prep.ok) {
    const parsed = parseRunLog(prep.log, { exitCode: prep.result.exitCode, timedOut: prep.result.timedOut });
    const reason = parsed.status === 'crash' ? parsed.reason : 'other';
    return finish({
      status: 'crash',
      reason,
      message: `prepare step failed (exit ${prep.result.exitCode})`,
      logTail: logTail(prep.log),
    });
  }

  const logFile = jobLogFile(ctx, lease);
  const argv = runTool.ok ? runTool.argv : [];
  const contained = sandbox ? await contain(argv, false) : null;
  const r = await runProcess({
    argv: contained?.argv ?? [...(ctx.lowPriority ? lowPriorityPrefix(process.platform) : []), ...argv],
    cwd: checkout.dir,
    env: contained?.env ?? env,
    logFile,
    hardTimeoutS: lease.track.hardTimeoutS,
    signal: contained ? anySignal(ctx.signal, contained.signal) : ctx.signal,
    lowPriority: ctx.lowPriority,
    scope,
  });
  t.trainStartAt = r.startAt;
  t.trainExitAt = r.exitAt;
  const limits = await contained?.finish();
  const log = await readFile(logFile, 'utf8').catch(() => '');
  if (limits?.diskExceededBytes) {
    return finish({
      status: 'crash',
      reason: 'other',
      message: `sandbox: the run wrote ${limits.diskExceededBytes} bytes, over its disk limit`,
      logTail: logTail(log),
    });
  }
  if (limits?.oomKilled) {
    return finish({
      status: 'crash',
      reason: 'oom',
      message: 'sandbox: the run went over its memory limit',
      logTail: logTail(log),
    });
  }
  if (r.spawnError) {
    return finish({
      status: 'crash',
      reason: 'other',
      message: `cannot start ${argv[0]}: ${r.spawnError}`,
      logTail: logTail(log),
    });
  }
  const parsed = parseRunLog(log, { exitCode: r.exitCode ?? (r.signal ? -1 : null), timedOut: r.timedOut });
  if (parsed.status === 'ok') {
    return finish({ status: 'ok', metrics: parsed.metrics, extra: parsed.extra, logTail: logTail(log) });
  }
  return finish({ status: 'crash', reason: parsed.reason, message: parsed.message, logTail: logTail(log) });
}

/** The prepare cache's own files (markers, logs) failing to read or write is the machine's fault. */
async function cacheIo<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new InfraError('prepare cache', toError(e).message, { cause: e });
  }
}
