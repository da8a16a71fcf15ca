/**
 * The coordinator's records in Redis: tokens (hashed), workers, tracks, proposals,
 * experiments, baselines and leases. Every key starts with the configured prefix, so
 * several coordinators (or tests) share one Redis without colliding.
 */
import {
  BaselineSample,
  ErrorCodes,
  Experiment,
  JobOutcome,
  type Progress,
  Proposal,
  RatchetError,
  type Role,
  TrackInfo,
} from '@ratchet/shared';
import { z } from 'zod';
import { type BatchStore, createBatchStore } from './batches.ts';
import { createLockStore, type LockStore } from './locks.ts';
import type { Redis } from './redis.ts';
import { createRegistryStore, type RegistryStore } from './registry.ts';
import { ACCEPT_OUTCOME, CLAIM_OUTCOME, COUNT_BASELINE, FINISH_LEASE, GRANT_LEASE } from './scripts.ts';

export const TokenRecord = z.object({
  role: z.enum(['admin', 'proposer', 'worker', 'viewer']),
  name: z.string(),
  trusted: z.boolean().default(false),
  /** A worker token that may also submit proposals (folding mode with a local LLM). */
  canPropose: z.boolean().default(false),
  createdAt: z.number(),
  /** Epoch ms after which the token is refused; null: never. */
  expiresAt: z.number().nullable().default(null),
  /** Epoch ms of its revocation; a revoked token is refused at once. */
  revokedAt: z.number().nullable().default(null),
  /** Most proposals and granted leases per rolling hour; null: unlimited. */
  proposalsPerHour: z.number().int().positive().nullable().default(null),
  leasesPerHour: z.number().int().positive().nullable().default(null),
});
export type TokenRecord = z.infer<typeof TokenRecord>;

export const WorkerRecord = z.object({
  id: z.string(),
  name: z.string(),
  hardwareClass: z.string(),
  backend: z.string(),
  /** Every backend it offers, preferred first, and its class on each (a Mac: mps and mlx). */
  backends: z.array(z.string()).default([]),
  classes: z.record(z.string(), z.string()).default({}),
  tracks: z.array(z.string()),
  tokenName: z.string(),
  /** The registering token's id (a prefix of its hash), so that revoking it reaches the worker. */
  tokenId: z.string().optional(),
  registeredAt: z.number(),
  lastSeenAt: z.number(),
  /** Its token is marked trusted (a lab's own machines). */
  trusted: z.boolean().default(false),
});
export type WorkerRecord = z.infer<typeof WorkerRecord>;

export const LeaseRecord = z.object({
  experimentId: z.string(),
  workerId: z.string(),
  token: z.string(),
  queue: z.string(),
  jobId: z.string(),
  leasedAt: z.number(),
});
export type LeaseRecord = z.infer<typeof LeaseRecord>;

/** A finished run's outcome as accepted from its lease, before and while it is recorded. */
export const OutcomeRecord = z.object({
  lease: LeaseRecord,
  outcome: JobOutcome,
  acceptedAt: z.number(),
});
export type OutcomeRecord = z.infer<typeof OutcomeRecord>;

/** What accepting an outcome found (see ACCEPT_OUTCOME in scripts.ts). */
export type Acceptance =
  | { kind: 'accepted'; record: OutcomeRecord }
  | { kind: 'retry'; record: OutcomeRecord }
  | { kind: 'recording' }
  | { kind: 'recorded' }
  | { kind: 'refused'; lease: LeaseRecord | null };

/** An accepted outcome is kept this long, so that a late retry of its completion is answered. */
const OUTCOME_LIFETIME_MS = 24 * 3600_000;

export type Store = ReturnType<typeof createStore>;

/**
 * Domain operations only: no caller sees the Redis client or builds keys. Locks and batches
 * are their own modules (`locks.ts`, `batches.ts`); every Lua script is in `scripts.ts`.
 */
export function createStore(
  redis: Redis,
  prefix: string,
): ReturnType<typeof storeOps> & {
  locks: LockStore;
  batches: BatchStore;
  registry: RegistryStore;
} {
  const k = (...parts: string[]) => [prefix, ...parts].join(':');
  return {
    ...storeOps(redis, prefix),
    locks: createLockStore(redis, k),
    batches: createBatchStore(redis, k),
    registry: createRegistryStore(redis, k),
  };
}

function storeOps(redis: Redis, prefix: string) {
  const k = (...parts: string[]) => [prefix, ...parts].join(':');
  const getJson = async <T>(schema: z.ZodType<T>, key: string): Promise<T | null> => {
    const raw = await redis.get(key);
    return raw === null ? null : schema.parse(JSON.parse(raw));
  };
  const setJson = (key: string, v: unknown) => redis.set(key, JSON.stringify(v));
  /** A stored outcome is `<lease token> <JSON>` (ACCEPT_OUTCOME). */
  const readOutcome = (raw: string): OutcomeRecord =>
    OutcomeRecord.parse(JSON.parse(raw.slice(raw.indexOf(' ') + 1)));

  return {
    /** Redis answers (health checks). */
    async ping(): Promise<void> {
      await redis.ping();
    },
    // ---- tokens
    async putToken(hash: string, rec: TokenRecord) {
      await setJson(k('token', hash), rec);
    },
    getToken: (hash: string) => getJson(TokenRecord, k('token', hash)),
    // ---- workers
    async putWorker(w: WorkerRecord) {
      await redis.multi().set(k('worker', w.id), JSON.stringify(w)).sadd(k('workers'), w.id).exec();
    },
    getWorker: (id: string) => getJson(WorkerRecord, k('worker', id)),
    async touchWorker(id: string, now: number) {
      const w = await getJson(WorkerRecord, k('worker', id));
      if (w) await setJson(k('worker', id), { ...w, lastSeenAt: now });
    },
    async listWorkers(): Promise<WorkerRecord[]> {
      const ids = await redis.smembers(k('workers'));
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map((id) => k('worker', id)));
      return raws.filter((r): r is string => r !== null).map((r) => WorkerRecord.parse(JSON.parse(r)));
    },
    // ---- tracks
    async putTrack(t: TrackInfo) {
      await redis
        .multi()
        .set(k('track', t.config.id), JSON.stringify(t))
        .sadd(k('tracks'), t.config.id)
        .exec();
    },
    getTrack: (id: string) => getJson(TrackInfo, k('track', id)),
    async requireTrack(id: string): Promise<TrackInfo> {
      const t = await getJson(TrackInfo, k('track', id));
      if (!t) throw new RatchetError(ErrorCodes.TRACK_UNKNOWN, `unknown track ${id}`);
      return t;
    },
    async listTracks(): Promise<TrackInfo[]> {
      const ids = (await redis.smembers(k('tracks'))).sort();
      const out: TrackInfo[] = [];
      for (const id of ids) {
        const t = await getJson(TrackInfo, k('track', id));
        if (t) out.push(t);
      }
      return out;
    },
    // ---- proposals
    async putProposal(p: Proposal) {
      await redis
        .multi()
        .set(k('proposal', p.id), JSON.stringify(p))
        .zadd(k('proposals', p.track), p.createdAt, p.id)
        .zadd(k('changes'), Date.now(), `p:${p.id}`)
        .exec();
    },
    getProposal: (id: string) => getJson(Proposal, k('proposal', id)),
    /** Claim a (track, base, patch hash) slot; returns the proposal already holding it, if any. */
    async claimPatch(track: string, base: string, hash: string, proposalId: string): Promise<string | null> {
      const key = k('phash', track, base, hash);
      const ok = await redis.set(key, proposalId, 'NX');
      return ok === 'OK' ? null : await redis.get(key);
    },
    findPatch: (track: string, base: string, hash: string) => redis.get(k('phash', track, base, hash)),
    async listProposals(track: string, limit = 100): Promise<Proposal[]> {
      const ids = await redis.zrevrange(k('proposals', track), 0, limit - 1);
      const out: Proposal[] = [];
      for (const id of ids) {
        const p = await getJson(Proposal, k('proposal', id));
        if (p) out.push(p);
      }
      return out;
    },
    // ---- experiments
    async putExperiment(e: Experiment) {
      await redis
        .multi()
        .set(k('exp', e.id), JSON.stringify(e))
        .zadd(k('exps', e.track), e.createdAt, e.id)
        .zadd(k('changes'), Date.now(), `e:${e.id}`)
        .exec();
    },
    getExperiment: (id: string) => getJson(Experiment, k('exp', id)),
    async requireExperiment(id: string): Promise<Experiment> {
      const e = await getJson(Experiment, k('exp', id));
      if (!e) throw new RatchetError(ErrorCodes.EXPERIMENT_UNKNOWN, `unknown experiment ${id}`);
      return e;
    },
    async listExperiments(track: string): Promise<Experiment[]> {
      const ids = await redis.zrange(k('exps', track), '0', '-1');
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map((id) => k('exp', id)));
      return raws.filter((r): r is string => r !== null).map((r) => Experiment.parse(JSON.parse(r)));
    },
    async setProgress(id: string, p: Progress | null, ttlMs: number) {
      await redis.set(k('progress', id), JSON.stringify(p), 'PX', ttlMs);
    },
    async getProgress(id: string): Promise<Progress | null> {
      const raw = await redis.get(k('progress', id));
      return raw === null ? null : JSON.parse(raw);
    },
    // ---- baselines: samples per (track, commit, class); the class's commits, for pooled noise
    /** A baseline that counts at once (a trusted report): once per experiment (COUNT_BASELINE). */
    async addBaselineSample(track: string, commit: string, cls: string, sample: BaselineSample) {
      const keys = [
        k('blcounted', track, commit, cls),
        k('blsamples', track, commit, cls),
        k('blcommits', track, cls),
      ];
      await redis.eval(COUNT_BASELINE, 3, ...keys, sample.experimentId, JSON.stringify(sample), commit);
    },
    /**
     * Every baseline reported for (track, commit, class), counted or not; the reported list
     * including this one. Only `countBaselineSample` makes one count.
     */
    async addReportedBaseline(
      track: string,
      commit: string,
      cls: string,
      sample: BaselineSample,
    ): Promise<BaselineSample[]> {
      const key = k('blreported', track, commit, cls);
      const res = await redis.pipeline().rpush(key, JSON.stringify(sample)).lrange(key, '0', '-1').exec();
      return ((res?.[1]?.[1] as string[] | undefined) ?? []).map((r) => BaselineSample.parse(JSON.parse(r)));
    },
    async reportedBaselines(track: string, commit: string, cls: string): Promise<BaselineSample[]> {
      const raws = await redis.lrange(k('blreported', track, commit, cls), '0', '-1');
      return raws.map((r) => BaselineSample.parse(JSON.parse(r)));
    },
    /** Make a reported baseline count (once, whoever calls); true for the call that did. */
    async countBaselineSample(
      track: string,
      commit: string,
      cls: string,
      sample: BaselineSample,
    ): Promise<boolean> {
      const keys = [
        k('blcounted', track, commit, cls),
        k('blsamples', track, commit, cls),
        k('blcommits', track, cls),
      ];
      const args = [sample.experimentId, JSON.stringify(sample), commit];
      return (await redis.eval(COUNT_BASELINE, 3, ...keys, ...args)) === 1;
    },
    /** The baselines that count: what decisions and the noise estimate use. */
    async getBaselineSamples(track: string, commit: string, cls: string): Promise<BaselineSample[]> {
      const raws = await redis.lrange(k('blsamples', track, commit, cls), '0', '-1');
      return raws.map((r) => BaselineSample.parse(JSON.parse(r)));
    },
    /** Every commit's baseline values on (track, class): the groups of the pooled noise estimate. */
    async baselineGroups(track: string, cls: string): Promise<number[][]> {
      const commits = await redis.smembers(k('blcommits', track, cls));
      const out: number[][] = [];
      for (const c of commits) {
        const raws = await redis.lrange(k('blsamples', track, c, cls), '0', '-1');
        out.push(raws.map((r) => (JSON.parse(r) as { valBpb: number }).valBpb));
      }
      return out;
    },
    /** Reserve baseline replicate `i` of (track, commit, class); true for the first caller. */
    async claimBaselineJob(
      track: string,
      commit: string,
      cls: string,
      i: number,
      expId: string,
    ): Promise<boolean> {
      return (await redis.set(k('baselinejob', track, commit, cls, String(i)), expId, 'NX')) === 'OK';
    },
    /** Experiment ids of the baseline replicates claimed so far, in order. */
    async baselineClaims(track: string, commit: string, cls: string): Promise<string[]> {
      const out: string[] = [];
      for (;;) {
        const id = await redis.get(k('baselinejob', track, commit, cls, String(out.length)));
        if (id === null) return out;
        out.push(id);
      }
    },
    // ---- trust: consecutive validated results per (worker, class)
    async trust(workerId: string, cls: string): Promise<number> {
      return Number((await redis.get(k('trust', workerId, cls))) ?? 0);
    },
    async bumpTrust(workerId: string, cls: string) {
      await redis.incr(k('trust', workerId, cls));
    },
    async resetTrust(workerId: string, cls: string) {
      await redis.set(k('trust', workerId, cls), '0');
      await redis.hincrby(k('counters'), 'trust_resets', 1);
    },
    async bestGain(track: string, cls: string): Promise<number> {
      return Number((await redis.get(k('bestgain', track, cls))) ?? 0);
    },
    async noteGain(track: string, cls: string, gain: number) {
      const cur = Number((await redis.get(k('bestgain', track, cls))) ?? 0);
      if (gain > cur) await redis.set(k('bestgain', track, cls), String(gain));
    },
    async addAwaiting(track: string, commit: string, cls: string, expId: string) {
      await redis.sadd(k('await', track, commit, cls), expId);
    },
    async takeAwaiting(track: string, commit: string, cls: string): Promise<string[]> {
      const key = k('await', track, commit, cls);
      const res = await redis.multi().smembers(key).del(key).exec();
      return (res?.[0]?.[1] as string[] | undefined) ?? [];
    },
    // ---- leases
    async putLease(l: LeaseRecord) {
      await setJson(k('lease', l.experimentId), l);
    },
    getLease: (expId: string) => getJson(LeaseRecord, k('lease', expId)),
    /** Write a granted lease, unless the experiment already has an accepted outcome. */
    async grantLease(l: LeaseRecord): Promise<boolean> {
      const keys = [k('lease', l.experimentId), k('outcome', l.experimentId)];
      return (await redis.eval(GRANT_LEASE, 2, ...keys, JSON.stringify(l))) === 1;
    },
    /**
     * Accept an outcome for (experiment, token, worker), or find it accepted before: one
     * atomic step that stores it durably and ends the lease (ACCEPT_OUTCOME in scripts.ts).
     */
    async acceptOutcome(
      rec: { experimentId: string; token: string; workerId: string; outcome: JobOutcome },
      now: number,
      claimMs: number,
    ): Promise<Acceptance> {
      const keys = [k('lease', rec.experimentId), k('outcome', rec.experimentId), k('outcomes')];
      const pending = { outcome: rec.outcome, acceptedAt: now };
      const [code, raw] = (await redis.eval(
        ACCEPT_OUTCOME,
        3,
        ...keys,
        rec.token,
        rec.workerId,
        rec.experimentId,
        JSON.stringify(pending),
        String(now),
        String(OUTCOME_LIFETIME_MS),
        String(claimMs),
      )) as [number, string];
      if (code === 1)
        return { kind: 'accepted', record: { ...pending, lease: LeaseRecord.parse(JSON.parse(raw)) } };
      if (code === 2) return { kind: 'retry', record: readOutcome(raw) };
      if (code === 3) return { kind: 'recording' };
      if (code === 4) return { kind: 'recorded' };
      return { kind: 'refused', lease: raw ? LeaseRecord.parse(JSON.parse(raw)) : null };
    },
    /** Claim the recording of a pending outcome whose claim lapsed (the reconciliation sweeps). */
    async claimOutcome(expId: string, now: number, claimMs: number): Promise<OutcomeRecord | null> {
      const raw = (await redis.eval(
        CLAIM_OUTCOME,
        2,
        k('outcome', expId),
        k('outcomes'),
        String(now),
        String(claimMs),
        expId,
      )) as string | null;
      return raw ? readOutcome(raw) : null;
    },
    /** Experiments with an outcome not recorded yet whose claim lapses at or before `beforeMs`. */
    pendingOutcomes: (beforeMs: number) =>
      redis.zrangebyscore(k('outcomes'), '-inf', Number.isFinite(beforeMs) ? beforeMs : '+inf'),
    /** The outcome is in the experiment's record: no longer pending (nor claimed). */
    async outcomeRecorded(expId: string) {
      await redis.zrem(k('outcomes'), expId);
    },
    /** Delete the lease only if it still carries `token`; true when this call removed it. */
    async finishLease(expId: string, token: string): Promise<boolean> {
      return (await redis.eval(FINISH_LEASE, 1, k('lease', expId), token)) === 1;
    },
    // ---- merges, in order (the portability matrix's rows)
    async noteMerge(track: string, note: unknown) {
      await redis.rpush(k('portability', 'merges', track), JSON.stringify(note));
    },
    async mergeNotes(track: string): Promise<unknown[]> {
      return (await redis.lrange(k('portability', 'merges', track), 0, -1)).map(
        (r) => JSON.parse(r) as unknown,
      );
    },
    // ---- the change feed: every write of an experiment or proposal (one member per record)
    /** Experiments and proposals written at or after `sinceMs` (epoch ms of the writer's clock). */
    async changedSince(sinceMs: number): Promise<{ experiments: string[]; proposals: string[] }> {
      const members = await redis.zrangebyscore(k('changes'), sinceMs, '+inf');
      return {
        experiments: members.filter((m) => m.startsWith('e:')).map((m) => m.slice(2)),
        proposals: members.filter((m) => m.startsWith('p:')).map((m) => m.slice(2)),
      };
    },
    async getExperiments(ids: string[]): Promise<Experiment[]> {
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map((id) => k('exp', id)));
      return raws.filter((r): r is string => r !== null).map((r) => Experiment.parse(JSON.parse(r)));
    },
    async getProposals(ids: string[]): Promise<Proposal[]> {
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map((id) => k('proposal', id)));
      return raws.filter((r): r is string => r !== null).map((r) => Proposal.parse(JSON.parse(r)));
    },
    /** A track's proposal ids, oldest first; with `newest`, only the newest that many. */
    async proposalIds(track: string, newest?: number): Promise<string[]> {
      return redis.zrange(k('proposals', track), newest === undefined ? '0' : String(-newest), '-1');
    },
    async getProgressMany(ids: string[]): Promise<(Progress | null)[]> {
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map((id) => k('progress', id)));
      return raws.map((r) => (r === null ? null : (JSON.parse(r) as Progress | null)));
    },
    async trustMany(pairs: { workerId: string; cls: string }[]): Promise<number[]> {
      if (pairs.length === 0) return [];
      const raws = await redis.mget(pairs.map((p) => k('trust', p.workerId, p.cls)));
      return raws.map((r) => Number(r ?? 0));
    },
    async incrCounter(name: string, by = 1) {
      await redis.hincrby(k('counters'), name, by);
    },
    async counters(): Promise<Record<string, number>> {
      const h = await redis.hgetall(k('counters'));
      return Object.fromEntries(Object.entries(h).map(([a, b]) => [a, Number(b)]));
    },
  };
}

export type { Role };
