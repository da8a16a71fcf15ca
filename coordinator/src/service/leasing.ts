/**
 * The worker protocol: register, lease (long poll), heartbeat, complete, release.
 * A lease is valid only with its live token and only once; everything else is refused
 * with a stable code and changes nothing.
 */
import {
  type CompleteInput,
  ErrorCodes,
  type HeartbeatInput,
  hardwareClassOf,
  type Lease,
  RatchetError,
  type RegisterInput,
  type RegisterOutput,
} from '@ratchet/shared';
import type { Principal } from '../auth/tokens.ts';
import { classQueueName, generalQueueName } from '../queue/queues.ts';
import type { LeaseRecord, WorkerRecord } from '../store/store.ts';
import { mayRun } from './arbiter.ts';
import { ensureBaselineJobsOnLease } from './baseline-check.ts';
import { leaseBatch } from './batches.ts';
import type { Deps } from './deps.ts';
import { freshenBase } from './freshen.ts';
import { newId, newLeaseToken } from './ids.ts';
import { laterQueueName } from './portability.ts';
import { moveProposal } from './proposal-status.ts';
import { recordOutcome } from './results.ts';
import {
  assertRunsSomething,
  classesOf,
  classForTrack,
  placeTracks,
  workerClassFor,
} from './worker-backends.ts';

export const GIT_PATH = '/git/frontier.git';
const EXCLUDED_DELAY_MS = 2_000;
const BATCH_WAIT_MS = 500;

export async function registerWorker(
  deps: Deps,
  who: Principal,
  input: RegisterInput,
): Promise<RegisterOutput> {
  const now = deps.clock.now();
  const classes = classesOf(input.profile);
  const w: WorkerRecord = {
    id: newId('w'),
    name: input.name,
    hardwareClass: hardwareClassOf(input.profile),
    backend: input.profile.backend,
    backends: Object.keys(classes),
    classes,
    tracks: input.tracks,
    tokenName: who.name,
    ...(who.tokenId ? { tokenId: who.tokenId } : {}),
    registeredAt: now,
    lastSeenAt: now,
    trusted: who.trusted,
  };
  const tracks = await deps.store.listTracks();
  const placed = placeTracks(w, input.tracks, tracks);
  assertRunsSomething(placed, input.tracks, tracks.length);
  await deps.store.putWorker(w);
  deps.queues.watch(
    placed.run.flatMap((t) => [classQueueName(t.id, t.hardwareClass), laterQueueName(t.id, t.hardwareClass)]),
  );
  return {
    workerId: w.id,
    hardwareClass: w.hardwareClass,
    heartbeatIntervalMs: deps.config.heartbeatIntervalMs,
    tracks: placed.run,
    skipped: placed.skipped,
  };
}

async function requireWorker(deps: Deps, id: string): Promise<WorkerRecord> {
  const w = await deps.store.getWorker(id);
  if (!w) throw new RatchetError(ErrorCodes.WORKER_UNKNOWN, `unknown worker ${id}: register first`);
  return w;
}

async function eligibleTracks(deps: Deps, w: WorkerRecord) {
  return (await deps.store.listTracks()).flatMap((t) => {
    const cls = classForTrack(w, t.config);
    return cls && (w.tracks.length === 0 || w.tracks.includes(t.config.id)) ? [{ ...t, cls }] : [];
  });
}

export async function lease(
  deps: Deps,
  workerId: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<Lease | null> {
  const w = await requireWorker(deps, workerId);
  await deps.store.touchWorker(w.id, deps.clock.now());
  const tracks = await eligibleTracks(deps, w);
  for (const t of tracks) {
    const head = (await deps.frontier.head(t.config.id)) ?? t.head;
    await ensureBaselineJobsOnLease(deps, t.config.id, head, t.cls);
  }
  // Measurements for the portability matrix run only when nothing else is waiting.
  const names = [
    ...tracks.flatMap((t) => [classQueueName(t.config.id, t.cls), generalQueueName(t.config.id)]),
    ...tracks.map((t) => laterQueueName(t.config.id, t.cls)),
  ];
  const deadline = deps.clock.now() + waitMs;
  for (;;) {
    const since = deps.queues.wakeVersion();
    const token = newLeaseToken();
    const taken = await deps.queues.take(names, token);
    if (taken) {
      const granted = await grant(deps, w, taken.queue, taken.jobId, taken.experimentId, token);
      if (granted) return granted;
      continue;
    }
    const left = deadline - deps.clock.now();
    if (left <= 0 || signal?.aborted) return null;
    await deps.queues.waitForWork(names, left, signal, since);
  }
}

async function otherLiveWorker(deps: Deps, w: WorkerRecord, cls: string): Promise<boolean> {
  const now = deps.clock.now();
  return (await deps.store.listWorkers()).some(
    (o) =>
      o.id !== w.id &&
      (o.hardwareClass === cls || Object.values(o.classes).includes(cls)) &&
      now - o.lastSeenAt < deps.config.leaseTtlMs * 3,
  );
}

async function grant(
  deps: Deps,
  w: WorkerRecord,
  queue: string,
  jobId: string,
  expId: string,
  token: string,
) {
  let exp = await deps.store.getExperiment(expId);
  if (!exp || (exp.status !== 'queued' && exp.status !== 'running')) {
    // A job whose experiment is gone or finished: drop it rather than run it twice.
    await deps.queues.complete(queue, jobId, token, { dropped: true }).catch(() => {});
    return null;
  }
  const cls = await workerClassFor(deps, w, exp.track);
  if (exp.excludeWorkerId === w.id && (await otherLiveWorker(deps, w, cls))) {
    // A confirmation must not run on the worker whose screen it checks: let another take it.
    // With no other live worker of the class, nobody else could check it, so it runs here.
    await deps.queues.delay(queue, jobId, token, EXCLUDED_DELAY_MS).catch(() => {});
    return null;
  }
  if (!(await mayRun(deps, w, exp, cls))) {
    // An arbitration or a baseline that needs another principal: it waits for one.
    await deps.queues.delay(queue, jobId, token, EXCLUDED_DELAY_MS).catch(() => {});
    return null;
  }
  if (exp.batchId) {
    const b = await leaseBatch(deps, exp, cls);
    if ('wait' in b) {
      // One batch of the class at a time: the next one forms while this one runs.
      await deps.queues.delay(queue, jobId, token, BATCH_WAIT_MS).catch(() => {});
      return null;
    }
    exp = 'run' in b ? b.run : null;
  } else exp = await freshenBase(deps, exp, cls);
  if (!exp) {
    // Its proposal ended while it waited (a conflict with the moved head, or a duplicate).
    await deps.queues.complete(queue, jobId, token, { dropped: true }).catch(() => {});
    return null;
  }
  // Rebasing or composing may have waited behind merges: the job's lock must still be ours,
  // renewed for the worker's whole lease; if it lapsed, the job is back in the queue.
  if (
    !(await deps.queues.extend(queue, jobId, token).then(
      () => true,
      () => false,
    ))
  )
    return null;
  const track = await deps.store.requireTrack(exp.track);
  const now = deps.clock.now();
  const rec: LeaseRecord = { experimentId: exp.id, workerId: w.id, token, queue, jobId, leasedAt: now };
  await deps.store.putLease(rec);
  await deps.store.putExperiment({
    ...exp,
    status: 'running',
    workerId: w.id,
    hardwareClass: exp.hardwareClass ?? cls,
    leasedAt: now,
    attempts: exp.attempts + 1,
  });
  let patch: string | null = exp.batchId ? exp.patch : null;
  if (exp.proposalId && !exp.batchId) {
    const p = await moveProposal(deps, exp.proposalId, 'running');
    patch = p?.patch ?? null;
  }
  const out: Lease = {
    experimentId: exp.id,
    leaseToken: token,
    kind: exp.kind,
    track: {
      id: track.config.id,
      run: track.config.run,
      prepare: track.config.prepare,
      data: track.config.data,
      budgetS: track.config.budgetS,
      hardTimeoutS: track.config.hardTimeoutS,
      prepareHash: track.prepareHash,
      sync: track.config.sync ?? null,
      prepareNetwork: track.config.prepareNetwork,
      env: track.config.env,
    },
    baseCommit: exp.base,
    patch,
    seed: exp.seed,
    leaseTtlMs: deps.config.leaseTtlMs,
    heartbeatIntervalMs: deps.config.heartbeatIntervalMs,
    gitPath: GIT_PATH,
  };
  return out;
}

/** The live lease for this (worker, experiment, token), or a coded refusal. */
async function liveLease(deps: Deps, workerId: string, expId: string, token: string): Promise<LeaseRecord> {
  const rec = await deps.store.getLease(expId);
  if (!rec) {
    const exp = await deps.store.getExperiment(expId);
    if (!exp) throw new RatchetError(ErrorCodes.EXPERIMENT_UNKNOWN, `unknown experiment ${expId}`);
    if (exp.status !== 'queued' && exp.status !== 'running') {
      throw new RatchetError(ErrorCodes.LEASE_FINISHED, `experiment ${expId} already has its result`);
    }
    throw new RatchetError(ErrorCodes.LEASE_UNKNOWN, `experiment ${expId} is not leased`);
  }
  if (rec.token !== token || rec.workerId !== workerId) {
    throw new RatchetError(
      ErrorCodes.LEASE_LOST,
      'stale or wrong lease token: the lease belongs to someone else',
    );
  }
  return rec;
}

export async function heartbeat(deps: Deps, input: HeartbeatInput): Promise<{ ok: true }> {
  const rec = await liveLease(deps, input.workerId, input.experimentId, input.leaseToken);
  await deps.queues.extend(rec.queue, rec.jobId, rec.token);
  await deps.store.setProgress(input.experimentId, input.progress, deps.config.leaseTtlMs * 2);
  await deps.store.touchWorker(input.workerId, deps.clock.now());
  return { ok: true };
}

export async function complete(deps: Deps, input: CompleteInput): Promise<{ ok: true }> {
  const rec = await liveLease(deps, input.workerId, input.experimentId, input.leaseToken);
  await deps.queues.complete(rec.queue, rec.jobId, rec.token, { status: input.outcome.status });
  if (!(await deps.store.finishLease(input.experimentId, input.leaseToken))) {
    throw new RatchetError(ErrorCodes.LEASE_FINISHED, 'this lease was already completed');
  }
  const exp = await deps.store.requireExperiment(input.experimentId);
  await recordOutcome(deps, exp, input.outcome);
  await deps.store.touchWorker(input.workerId, deps.clock.now());
  return { ok: true };
}

export async function release(
  deps: Deps,
  input: { workerId: string; experimentId: string; leaseToken: string },
): Promise<{ ok: true }> {
  const rec = await liveLease(deps, input.workerId, input.experimentId, input.leaseToken);
  await deps.queues.release(rec.queue, rec.jobId, rec.token);
  await deps.store.finishLease(input.experimentId, input.leaseToken);
  const exp = await deps.store.requireExperiment(input.experimentId);
  await deps.store.putExperiment({ ...exp, status: 'queued', workerId: null });
  return { ok: true };
}
