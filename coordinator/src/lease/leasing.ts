/**
 * The worker protocol: register, lease (long poll), heartbeat, complete, release.
 * A lease is valid only with its live token and only once; everything else is refused
 * with a stable code and changes nothing.
 */
import {
  type CompleteInput,
  ErrorCodes,
  type Experiment,
  type HeartbeatInput,
  hardwareClassOf,
  type Lease,
  RatchetError,
  type RegisterInput,
  type RegisterOutput,
} from '@ratchet/shared';
import { assertOwns, principalOfWorker, workerPrincipal } from '../auth/principals.ts';
import type { Principal } from '../auth/tokens.ts';
import { ensureBaselineJobsOnLease } from '../baselines/baseline-check.ts';
import type { Deps } from '../deps.ts';
import { leaseBatch } from '../merge/batches.ts';
import { waitingForPrincipal } from '../pipeline/lifecycle.ts';
import { newId, newLeaseToken } from '../proposals/ids.ts';
import { moveProposal } from '../proposals/proposal-status.ts';
import { classQueueName, generalQueueName } from '../queue/queues.ts';
import { laterQueueName } from '../reports/portability.ts';
import {
  endWithError,
  finishRecording,
  MAX_ATTEMPTS,
  MAX_INFRA_RELEASES,
  recordingClaimMs,
} from '../results/completion.ts';
import type { LeaseRecord, WorkerRecord } from '../store/store.ts';
import { mayRun } from './arbiter.ts';
import { freshenBase } from './freshen.ts';
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

async function requireWorker(deps: Deps, id: string, who: Pick<Principal, 'tokenId'>): Promise<WorkerRecord> {
  const w = await deps.store.getWorker(id);
  if (!w) throw new RatchetError(ErrorCodes.WORKER_UNKNOWN, `unknown worker ${id}: register first`);
  assertOwns(w, who);
  return w;
}

async function eligibleTracks(deps: Deps, w: WorkerRecord) {
  return (await deps.store.listTracks()).flatMap((t) => {
    const cls = classForTrack(w, t.config);
    return cls && (w.tracks.length === 0 || w.tracks.includes(t.config.id)) ? [{ ...t, cls }] : [];
  });
}

/** A job for worker `workerId`, which must be `who`'s (auth/principals.ts), or null after `waitMs`. */
export async function lease(
  deps: Deps,
  who: Pick<Principal, 'tokenId'>,
  workerId: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<Lease | null> {
  const w = await requireWorker(deps, workerId, who);
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
    const taken = await deps.queues.take(names, token, since);
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
  if (exp.attempts >= MAX_ATTEMPTS) {
    // A poison job (its runs never report, or never report anything the coordinator takes).
    await deps.queues.complete(queue, jobId, token, { dropped: true }).catch(() => {});
    await endWithError(deps, exp, `no result after ${exp.attempts} attempts`);
    return null;
  }
  const cls = await workerClassFor(deps, w, exp.track);
  if (await confirmsItself(deps, exp, w, cls)) {
    // A confirmation never runs under the principal whose screen it checks: it waits for
    // another principal, however long that takes (auth/principals.ts).
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
  if (!(await deps.store.grantLease(rec))) {
    // It has an accepted outcome (its job came back before the outcome was recorded).
    await deps.queues.complete(queue, jobId, token, { dropped: true }).catch(() => {});
    return null;
  }
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

/**
 * Whether `w` shares the principal of the worker whose screen this confirmation checks; if
 * so, the proposal's reason says what it waits for.
 */
async function confirmsItself(deps: Deps, exp: Experiment, w: WorkerRecord, cls: string) {
  const screener = await principalOfWorker(deps, exp.excludeWorkerId);
  if (!screener || screener.id !== workerPrincipal(w).id) return false;
  if (exp.proposalId) {
    const p = await deps.store.getProposal(exp.proposalId);
    const why = waitingForPrincipal(cls, { principal: screener, workerId: exp.excludeWorkerId });
    if (p && p.verdictReason !== why) await moveProposal(deps, p.id, p.status, why);
  }
  return true;
}

/** The live lease for this (worker, experiment, token), or a coded refusal. */
async function liveLease(deps: Deps, workerId: string, expId: string, token: string): Promise<LeaseRecord> {
  const rec = await deps.store.getLease(expId);
  if (!rec || rec.token !== token || rec.workerId !== workerId) throw await leaseRefusal(deps, expId, rec);
  return rec;
}

/** Why a lease reference is refused: the lease is another's, or there is none (and why). */
async function leaseRefusal(deps: Deps, expId: string, rec: LeaseRecord | null): Promise<RatchetError> {
  if (rec) {
    return new RatchetError(
      ErrorCodes.LEASE_LOST,
      'stale or wrong lease token: the lease belongs to someone else',
    );
  }
  const exp = await deps.store.getExperiment(expId);
  if (!exp) return new RatchetError(ErrorCodes.EXPERIMENT_UNKNOWN, `unknown experiment ${expId}`);
  if (exp.status !== 'queued' && exp.status !== 'running') {
    return new RatchetError(ErrorCodes.LEASE_FINISHED, `experiment ${expId} already has its result`);
  }
  return new RatchetError(ErrorCodes.LEASE_UNKNOWN, `experiment ${expId} is not leased`);
}

export async function heartbeat(deps: Deps, input: HeartbeatInput): Promise<{ ok: true }> {
  const rec = await liveLease(deps, input.workerId, input.experimentId, input.leaseToken);
  await deps.queues.extend(rec.queue, rec.jobId, rec.token);
  await deps.store.setProgress(input.experimentId, input.progress, deps.config.leaseTtlMs * 2);
  await deps.store.touchWorker(input.workerId, deps.clock.now());
  return { ok: true };
}

/**
 * Record a finished run, exactly once (see `completion.ts`): the outcome is accepted and the
 * lease ended in one atomic step, then the job is finished and the run recorded. A retry with
 * the same lease token, after a crash anywhere in between or after success, records what is
 * missing and is answered ok; while another call records it, `COMPLETION_BUSY` (retryable).
 */
export async function complete(deps: Deps, input: CompleteInput): Promise<{ ok: true }> {
  const now = deps.clock.now();
  const got = await deps.store.acceptOutcome(
    {
      experimentId: input.experimentId,
      token: input.leaseToken,
      workerId: input.workerId,
      outcome: input.outcome,
    },
    now,
    recordingClaimMs(deps),
  );
  if (got.kind === 'refused') throw await leaseRefusal(deps, input.experimentId, got.lease);
  if (got.kind === 'recorded') return { ok: true };
  if (got.kind === 'recording') {
    // Another call holds its recording now (or held it, and died: its claim lapses within a TTL).
    throw new RatchetError(ErrorCodes.COMPLETION_BUSY, 'this result is being recorded: ask again shortly');
  }
  deps.events.step?.('complete:accepted');
  await finishRecording(deps, input.experimentId, got.record);
  await deps.store.touchWorker(input.workerId, now);
  return { ok: true };
}

/**
 * Give a job back. One given back for infrastructure reasons (`infrastructure: …`) counts
 * against the experiment; the `MAX_INFRA_RELEASES`th ends it with an `error` verdict instead
 * of queueing it again, so persistent trouble around a run is never its proposal's verdict
 * and never loops.
 */
export async function release(
  deps: Deps,
  input: { workerId: string; experimentId: string; leaseToken: string; reason?: string },
): Promise<{ ok: true }> {
  const rec = await liveLease(deps, input.workerId, input.experimentId, input.leaseToken);
  const exp = await deps.store.requireExperiment(input.experimentId);
  const infra = input.reason?.startsWith('infrastructure:') ?? false;
  const infraReleases = (exp.infraReleases ?? 0) + (infra ? 1 : 0);
  if (infra && infraReleases >= MAX_INFRA_RELEASES) {
    await deps.queues.finish(rec.queue, rec.jobId, rec.token, { dropped: true });
    if (!(await deps.store.finishLease(input.experimentId, input.leaseToken))) return { ok: true };
    const why = `given back ${infraReleases} times for infrastructure reasons; last: ${input.reason}`;
    await endWithError(deps, { ...exp, infraReleases }, why.slice(0, 600));
    return { ok: true };
  }
  await deps.queues.release(rec.queue, rec.jobId, rec.token);
  await deps.store.finishLease(input.experimentId, input.leaseToken);
  // A job handed back in good order (the worker stopping, its owner returning) did not fail:
  // only leases that ended otherwise count toward the attempt limit.
  const attempts = infra ? exp.attempts : Math.max(0, exp.attempts - 1);
  await deps.store.putExperiment({ ...exp, status: 'queued', workerId: null, infraReleases, attempts });
  return { ok: true };
}
