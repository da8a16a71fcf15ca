/**
 * The worker's life: register, then lease → run → report until stopped.
 * First stop(): no new leases; the running job is stopped and released back to the queue.
 * Second stop() (force): the caller exits at once; the child tree is killed on the way.
 */

import { mkdir } from 'node:fs/promises';
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
import { executeJob, jobLogFile, readLogTail } from '../runner/job.ts';
import type { Serial } from '../runner/serial.ts';
import { createSandbox, type Sandbox, type SandboxLimits } from '../sandbox/index.ts';
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

/** Wait `ms`, or less if `signal` fires; never leaves a listener behind. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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

  async function report(lease: Lease, outcome: JobOutcome): Promise<boolean> {
    for (let attempt = 0, delay = 500; attempt < 12; attempt++, delay = Math.min(delay * 2, 10_000)) {
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
        if (code) {
          log(`result for ${lease.experimentId} refused (${code}): ${toError(e).message}`);
          return false;
        }
        await sleep(delay);
      }
    }
    return false;
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
    try {
      outcome = await executeJob(ctxFor(abort.signal), lease);
    } catch (e) {
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
      hbDone.abort();
      await hb;
      jobAbort = null;
    }
    if (outcome === null || abort.signal.aborted) {
      // Interrupted: a lost lease belongs to someone else now; otherwise give the job back.
      const leaseLost = abort.signal.aborted && !stopping.signal.aborted && givenBack === null;
      if (!leaseLost) {
        await client.workers.release
          .mutate({
            workerId: reg!.workerId,
            experimentId: lease.experimentId,
            leaseToken: lease.leaseToken,
            reason: givenBack ?? 'worker stopping',
          })
          .catch(() => {});
        log(`released ${lease.experimentId}`);
      }
      reports.push({ lease, outcome: null, released: !leaseLost });
      return;
    }
    const ok = await report(lease, outcome);
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
          else await sleep(2_000, stopping.signal);
          continue;
        }
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
