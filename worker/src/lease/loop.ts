/**
 * The worker's life: register, then lease → run → report until stopped.
 * First stop(): no new leases; the running job is stopped and released back to the queue.
 * Second stop() (force): the caller exits at once; the child tree is killed on the way.
 */

import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  type ErrorCode,
  ErrorCodes,
  type HardwareProfile,
  type JobOutcome,
  type Lease,
  parseProgress,
  RatchetError,
  type RegisterOutput,
  toError,
} from '@ratchet/shared';
import {
  createFoldingGate,
  type FoldingGate,
  machineSources,
  type ReadingSources,
} from '../folding/monitor.ts';
import type { FoldingPrefs } from '../folding/rules.ts';
import { detectHardware } from '../hardware/detect.ts';
import { cacheDirFor } from '../platform/platform.ts';
import { createFoldingProposer } from '../propose/folding.ts';
import { InfraError } from '../runner/infra.ts';
import { executeJob, jobLogFile, readLogTail } from '../runner/job.ts';
import { killMarked, runScope } from '../runner/reap.ts';
import type { Serial } from '../runner/serial.ts';
import { createSandbox, type Sandbox, type SandboxLimits } from '../sandbox/index.ts';
import { backoffMs, shouldRetry, sleep } from './backoff.ts';
import { type Client, createClient, errorCode } from './client.ts';
import { type JobEvent, watchProgress } from './progress-watch.ts';

export interface WorkerOptions {
  coordinatorUrl: string;
  token: string;
  name: string;
  python: string;
  workDir: string;
  cacheDir?: string;
  once: boolean;
  backend?: Backend;
  /** Backends to offer (`--backend cuda,cpu`); default: what the machine has. */
  backends?: Backend[];
  /** This slot's hardware, when the caller detected it (one GPU of a multi-GPU box). */
  profile?: HardwareProfile;
  /** Name the class instead of deriving it (`--hardware-class`, RATCHET_HARDWARE_CLASS). */
  hardwareClass?: string;
  /** Shared by the slots of one process (see runner/serial.ts). */
  serial?: Serial;
  tracks: string[];
  lowPriority: boolean;
  /** Extra environment for this worker's runs (e.g. CUDA_VISIBLE_DEVICES for one GPU). */
  extraEnv?: Record<string, string>;
  leaseWaitMs?: number;
  /** Folding mode: propose with a local Ollama when the queue is empty. */
  proposeWithOllama?: { host: string; model: string; strategyFile?: string; minIntervalMs?: number };
  log?: (msg: string) => void;
  /** Folding mode: lease only while the machine is idle; give jobs back when its owner returns. */
  folding?: FoldingPrefs;
  /** Where folding mode's readings come from (this machine's readers by default). */
  readingSources?: ReadingSources;
  /** Run prepare and training in the platform's sandbox, with these limits. */
  sandbox?: SandboxLimits;
  /** Job start, progress (read from its log every half second) and end, for a progress display. */
  onJob?: (e: JobEvent) => void;
}

export interface JobReport {
  lease: Lease;
  outcome: JobOutcome | null;
  released: boolean;
}

function isTokenRefusal(code: string | null): boolean {
  return (
    code === ErrorCodes.UNAUTHENTICATED ||
    code === ErrorCodes.TOKEN_REVOKED ||
    code === ErrorCodes.TOKEN_EXPIRED
  );
}

export function createWorkerAgent(opts: WorkerOptions) {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[worker] ${m}\n`));
  const client: Client = createClient(opts.coordinatorUrl, opts.token);
  const stopping = new AbortController();
  let jobAbort: AbortController | null = null;
  let reg: RegisterOutput | null = null;
  const reports: JobReport[] = [];
  const cacheDir = opts.cacheDir ?? cacheDirFor(process.platform, process.env, homedir());
  const gate: FoldingGate | null = opts.folding
    ? createFoldingGate(opts.folding, opts.readingSources ?? machineSources(cacheDir), log)
    : null;
  let sandbox: Sandbox | undefined;
  /** Set when the coordinator no longer accepts this worker's token (revoked or expired). */
  let tokenRefused: string | null = null;

  /** Tracks whose toolchain this worker lacks: it stops leasing them (runner/toolchain.ts). */
  const unrunnable = new Map<string, string>();
  let tracks = opts.tracks;

  async function register(): Promise<RegisterOutput> {
    const detected =
      opts.profile ??
      (await detectHardware({
        ...(opts.backends ? { backends: opts.backends } : opts.backend ? { backends: [opts.backend] } : {}),
        ...(opts.extraEnv?.CUDA_VISIBLE_DEVICES !== undefined
          ? { cudaVisibleDevices: opts.extraEnv.CUDA_VISIBLE_DEVICES }
          : {}),
      }));
    const profile = opts.hardwareClass ? { ...detected, classOverride: opts.hardwareClass } : detected;
    for (let delay = 500; ; delay = Math.min(delay * 2, 15_000)) {
      try {
        const r = await client.workers.register.mutate({ name: opts.name, profile, tracks });
        log(`registered as ${r.workerId}, class ${r.hardwareClass}`);
        for (const t of r.tracks) log(`runs track ${t.id} on ${t.backend} as class ${t.hardwareClass}`);
        for (const t of r.skipped) log(`skips track ${t.id}: ${t.reason}`);
        return r;
      } catch (e) {
        const code = errorCode(e);
        if (
          code === ErrorCodes.UNAUTHENTICATED ||
          code === ErrorCodes.FORBIDDEN ||
          code === ErrorCodes.BAD_INPUT ||
          code === ErrorCodes.NO_MATCHING_TRACK
        ) {
          throw new RatchetError(code as ErrorCode, `registration refused: ${toError(e).message}`, {
            cause: e,
          });
        }
        if (stopping.signal.aborted) throw new Error('stopped before registering');
        log(`coordinator unreachable (${toError(e).message}); retrying in ${delay} ms`);
        await sleep(delay, stopping.signal);
      }
    }
  }

  async function heartbeatLoop(lease: Lease, abort: AbortController, done: AbortSignal) {
    while (!done.aborted) {
      await sleep(lease.heartbeatIntervalMs, done);
      if (done.aborted) return;
      try {
        const tail = await readLogTail(jobLogFile(ctxFor(abort.signal), lease), 4000);
        await client.workers.heartbeat.mutate({
          workerId: reg!.workerId,
          experimentId: lease.experimentId,
          leaseToken: lease.leaseToken,
          progress: parseProgress(tail),
        });
      } catch (e) {
        const code = errorCode(e);
        if (isTokenRefusal(code)) {
          tokenRefused = code;
          log(`token refused (${code}): stopping the run and the worker`);
          stopping.abort();
          abort.abort();
          return;
        }
        if (code?.startsWith('RATCHET_E_LEASE') || code === ErrorCodes.EXPERIMENT_UNKNOWN) {
          log(`lease on ${lease.experimentId} lost (${code}); stopping the run`);
          abort.abort();
          return;
        }
        // Transport trouble: keep running, the next heartbeat may get through within the TTL.
      }
    }
  }

  function ctxFor(signal: AbortSignal) {
    return {
      coordinatorUrl: opts.coordinatorUrl,
      token: opts.token,
      python: opts.python,
      workDir: opts.workDir,
      cacheDir,
      sandbox,
      extraEnv: opts.extraEnv ?? {},
      lowPriority: opts.lowPriority,
      signal,
      ...(opts.serial ? { serial: opts.serial } : {}),
    };
  }

  /**
   * Report a finished run until it is recorded or finally refused. Transport failures and
   * retryable codes (the coordinator restarting, Redis away) are retried with backoff for
   * several lease TTLs while heartbeats keep the lease; a result refused as bad input is
   * replaced, once, by a short crash report, so that the run is not repeated forever.
   */
  async function report(lease: Lease, finished: JobOutcome): Promise<boolean> {
    let outcome = finished;
    const deadline = Date.now() + Math.max(120_000, 4 * lease.leaseTtlMs);
    for (let attempt = 0; ; attempt++) {
      try {
        await client.workers.complete.mutate({
          workerId: reg!.workerId,
          experimentId: lease.experimentId,
          leaseToken: lease.leaseToken,
          outcome,
        });
        return true;
      } catch (e) {
        const code = errorCode(e);
        const msg = toError(e).message;
        if (code === ErrorCodes.BAD_INPUT && outcome === finished) {
          log(`result for ${lease.experimentId} refused (${code}): ${msg.slice(0, 300)}; reporting a crash`);
          outcome = {
            status: 'crash',
            reason: 'other',
            message: `the coordinator refused this run's result as invalid: ${msg.slice(0, 500)}`,
            logTail: finished.logTail.slice(-4000),
            timings: finished.timings,
          };
          continue;
        }
        if (!shouldRetry(code) || Date.now() > deadline) {
          log(`result for ${lease.experimentId} refused (${code ?? 'unreachable'}): ${msg.slice(0, 300)}`);
          return false;
        }
        await sleep(backoffMs(attempt, 500, 5_000));
      }
    }
  }

  async function runOne(lease: Lease): Promise<void> {
    log(`leased ${lease.kind} ${lease.experimentId} on ${lease.track.id}@${lease.baseCommit.slice(0, 7)}`);
    const abort = new AbortController();
    jobAbort = abort;
    const hbDone = new AbortController();
    const hb = heartbeatLoop(lease, abort, hbDone.signal);
    let givenBack: string | null = null;
    const leasedAt = Date.now();
    const unwatch = gate?.watchRun(
      () => (Date.now() - leasedAt) / (lease.track.budgetS * 1000),
      (action, why) => {
        if (action === 'finish') return log(`owner is back (${why}); ${lease.experimentId} is nearly done`);
        givenBack = `owner returned: ${why}`;
        log(`owner is back (${why}): giving ${lease.experimentId} back`);
        abort.abort();
      },
    );
    opts.onJob?.({ type: 'start', lease });
    const stopProgress = opts.onJob
      ? watchProgress(jobLogFile(ctxFor(abort.signal), lease), lease, opts.onJob)
      : null;
    let outcome: JobOutcome | null = null;
    let infra: string | null = null;
    try {
      outcome = await executeJob(ctxFor(abort.signal), lease);
    } catch (e) {
      if (e instanceof InfraError) infra = e.message;
      log(`job ${lease.experimentId} failed locally: ${toError(e).message}`);
    } finally {
      unwatch?.();
      stopProgress?.();
      opts.onJob?.({
        type: 'end',
        lease,
        valBpb: outcome?.status === 'ok' ? outcome.metrics.val_bpb : null,
        status: outcome?.status ?? 'released',
      });
      jobAbort = null;
    }
    const stopHeartbeats = async () => {
      hbDone.abort();
      await hb;
    };
    if (infra !== null && !abort.signal.aborted) {
      // Not the proposal's fault: the job goes back to the queue, with the reason.
      await stopHeartbeats();
      const released = await release(lease, `infrastructure: ${infra}`);
      log(`gave ${lease.experimentId} back: ${infra}`);
      reports.push({ lease, outcome: null, released });
      await sleep(backoffMs(2, 1_000, 10_000), stopping.signal);
      return;
    }
    if (outcome === null || abort.signal.aborted) {
      await stopHeartbeats();
      // Interrupted: a lost lease belongs to someone else now; otherwise give the job back.
      const leaseLost = abort.signal.aborted && !stopping.signal.aborted && givenBack === null;
      if (!leaseLost) {
        await release(lease, givenBack ?? 'worker stopping');
        log(`released ${lease.experimentId}`);
      }
      reports.push({ lease, outcome: null, released: !leaseLost });
      return;
    }
    // Heartbeats go on while the result is reported: a coordinator restart must not lose the lease.
    const ok = await report(lease, outcome).finally(stopHeartbeats);
    const bpb = outcome.status === 'ok' ? outcome.metrics.val_bpb.toFixed(6) : outcome.status;
    log(`finished ${lease.experimentId}: ${bpb}${ok ? '' : ' (not recorded)'}`);
    reports.push({ lease, outcome, released: false });
    if (outcome.status === 'crash' && outcome.code === ErrorCodes.TOOLCHAIN_MISSING)
      unrunnable.set(lease.track.id, outcome.message);
  }

  /** After a toolchain error: register again without that track, or stop when none is left. */
  async function dropUnrunnable(): Promise<void> {
    if (unrunnable.size === 0 || !reg) return;
    const left = reg.tracks.map((t) => t.id).filter((id) => !unrunnable.has(id));
    const dropped = [...unrunnable.keys()];
    if (left.length === 0) {
      throw new RatchetError(
        ErrorCodes.TOOLCHAIN_MISSING,
        `no track left that this worker can run: ${[...unrunnable.values()].join('; ')}`,
      );
    }
    log(
      `stops leasing track ${dropped.join(', ')} (its toolchain is missing here); keeps ${left.join(', ')}`,
    );
    tracks = left;
    unrunnable.clear();
    reg = await register();
  }

  /** Give a job back; retried briefly, since a job not given back waits for its lease to expire. */
  async function release(lease: Lease, reason: string): Promise<boolean> {
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await client.workers.release.mutate({
          workerId: reg!.workerId,
          experimentId: lease.experimentId,
          leaseToken: lease.leaseToken,
          reason: reason.slice(0, 500),
        });
        return true;
      } catch (e) {
        if (!shouldRetry(errorCode(e))) return false;
        await sleep(backoffMs(attempt, 250, 2_000));
      }
    }
    return false;
  }

  /**
   * A worker restarted on the work dir of one that was killed: what that one left running
   * (marked with this work dir's scope) is killed, and its checkouts and logs are removed.
   */
  async function reapStale(): Promise<void> {
    const killed = killMarked(`${runScope(opts.workDir)}.`);
    if (killed > 0) log(`killed ${killed} process(es) left by an earlier worker on ${opts.workDir}`);
    await rm(join(opts.workDir, 'jobs'), { recursive: true, force: true });
  }

  const folding = opts.proposeWithOllama
    ? createFoldingProposer(client, { ...opts.proposeWithOllama, python: opts.python, log })
    : null;
  let lastProposalAt = 0;
  /** The queue is empty: in folding mode, ask the local LLM for something to run. */
  async function maybePropose(): Promise<void> {
    if (!folding || stopping.signal.aborted) return;
    if (Date.now() - lastProposalAt < (opts.proposeWithOllama?.minIntervalMs ?? 30_000)) return;
    lastProposalAt = Date.now();
    const tracks =
      opts.tracks.length > 0 ? opts.tracks : (await client.tracks.list.query()).map((t) => t.config.id);
    for (const track of tracks) {
      try {
        const id = await folding.proposeFor(track);
        if (id) log(`proposed ${id} on ${track} with the local LLM`);
      } catch (e) {
        log(`local proposal on ${track} failed (${errorCode(e) ?? 'error'}): ${toError(e).message}`);
      }
    }
  }

  return {
    reports,
    async run(): Promise<void> {
      await reapStale();
      await mkdir(join(opts.workDir, 'jobs'), { recursive: true });
      if (opts.sandbox) {
        sandbox = await createSandbox({
          python: opts.python,
          limits: opts.sandbox,
          lowPriority: opts.lowPriority,
        });
        log(`sandbox: ${sandbox.mechanism}, memory limit by ${sandbox.memory}`);
      }
      reg = await register();
      let leaseFailures = 0;
      while (!stopping.signal.aborted) {
        let lease: Lease | null = null;
        if (gate && !(await gate.waitUntilIdle(stopping.signal))) break;
        try {
          const input = { workerId: reg.workerId, waitMs: opts.leaseWaitMs ?? 20_000 };
          lease = (await client.workers.lease.mutate(input, { signal: stopping.signal })).lease;
        } catch (e) {
          if (stopping.signal.aborted) break;
          const code = errorCode(e);
          if (isTokenRefusal(code)) tokenRefused = code;
          if (tokenRefused) break;
          if (code === ErrorCodes.WORKER_UNKNOWN) reg = await register();
          else await sleep(backoffMs(leaseFailures++, 1_000, 15_000), stopping.signal);
          continue;
        }
        leaseFailures = 0;
        if (!lease) {
          await maybePropose();
          continue;
        }
        await runOne(lease);
        await dropUnrunnable();
        if (opts.once || tokenRefused) break;
      }
      if (tokenRefused) throw new Error(`the coordinator refuses this worker's token (${tokenRefused})`);
    },
    /** First call: drain. The job in progress is stopped and given back. */
    stop() {
      stopping.abort();
      jobAbort?.abort();
    },
  };
}
