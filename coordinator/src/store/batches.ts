/**
 * Re-verification batches in Redis: the records, the open batch of each (track, class) that
 * winners join, and the track's run slot that one batch holds from the moment it is composed
 * onto the head until it is judged.
 */
import { Batch } from '@ratchet/shared';
import type { Redis } from './redis.ts';
import { BATCH_FREEZE, BATCH_JOIN, BATCH_OPEN, DELETE_IF_EQUALS, SLOT_TAKE_OVER } from './scripts.ts';

export interface BatchStore {
  put(b: Batch): Promise<void>;
  get(id: string): Promise<Batch | null>;
  /** Batches of a track, oldest first. */
  list(track: string): Promise<Batch[]>;
  /** The open batch of the class, if any. */
  openOf(track: string, cls: string): Promise<string | null>;
  /** Add a member if `batchId` is still the open batch; false when it closed meanwhile. */
  join(track: string, cls: string, batchId: string, proposalId: string): Promise<boolean>;
  /** Store `b` and make it the open batch with its first member, unless one is open already. */
  open(b: Batch, proposalId: string): Promise<boolean>;
  /** Close the batch to new members; its members in the order they joined. */
  freeze(track: string, cls: string, batchId: string): Promise<string[]>;
  /**
   * The batch holding the track's run slot. One batch per track at a time: any merge moves
   * the head, so two batches composed on one head cannot both merge.
   */
  slotHolder(track: string): Promise<string | null>;
  /** Take the track's run slot; `holderLive` says whether the batch holding it is still out. */
  claimSlot(track: string, batchId: string, holderLive: (id: string) => Promise<boolean>): Promise<boolean>;
  releaseSlot(track: string, batchId: string): Promise<void>;
  /** The speculative batch composed on top of the one holding the slot (one at a time). */
  nextHolder(track: string): Promise<string | null>;
  claimNext(track: string, batchId: string, holderLive: (id: string) => Promise<boolean>): Promise<boolean>;
  releaseNext(track: string, batchId: string): Promise<void>;
  /** Leave a run to be judged later (its batch waits for the batch ahead). */
  park(batchId: string, runId: string): Promise<void>;
  /** Take the parked run, once: exactly one of several callers gets it. */
  unpark(batchId: string): Promise<string | null>;
}

export function createBatchStore(redis: Redis, key: (...parts: string[]) => string): BatchStore {
  const openKey = (track: string, cls: string) => key('batch', 'open', track, cls);
  const slotKey = (track: string) => key('batch', 'run', track);
  const nextKey = (track: string) => key('batch', 'next', track);
  const claim = async (k: string, batchId: string, holderLive: (id: string) => Promise<boolean>) => {
    for (let i = 0; i < 3; i++) {
      if ((await redis.set(k, batchId, 'NX')) === 'OK') return true;
      const holder = await redis.get(k);
      if (holder === batchId) return true;
      if (!holder) continue;
      if (await holderLive(holder)) return false;
      if ((await redis.eval(SLOT_TAKE_OVER, 1, k, holder, batchId)) === 1) return true;
    }
    return false;
  };
  const membersKey = (id: string) => key('batch', 'members', id);
  const recKey = (id: string) => key('batch', 'rec', id);
  const put = async (b: Batch) => {
    await redis
      .multi()
      .set(recKey(b.id), JSON.stringify(b))
      .zadd(key('batches', b.track), b.createdAt, b.id)
      .exec();
  };
  return {
    put,
    async get(id) {
      const raw = await redis.get(recKey(id));
      return raw === null ? null : Batch.parse(JSON.parse(raw));
    },
    async list(track) {
      const ids = await redis.zrange(key('batches', track), '0', '-1');
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map(recKey));
      return raws.filter((r): r is string => r !== null).map((r) => Batch.parse(JSON.parse(r)));
    },
    openOf: (track, cls) => redis.get(openKey(track, cls)),
    async join(track, cls, batchId, proposalId) {
      return (
        (await redis.eval(BATCH_JOIN, 2, openKey(track, cls), membersKey(batchId), batchId, proposalId)) === 1
      );
    },
    async open(b, proposalId) {
      await put(b);
      return (
        (await redis.eval(
          BATCH_OPEN,
          2,
          openKey(b.track, b.hardwareClass),
          membersKey(b.id),
          b.id,
          proposalId,
        )) === 1
      );
    },
    async freeze(track, cls, batchId) {
      const ids = (await redis.eval(
        BATCH_FREEZE,
        2,
        openKey(track, cls),
        membersKey(batchId),
        batchId,
      )) as string[];
      return [...new Set(ids)];
    },
    slotHolder: (track) => redis.get(slotKey(track)),
    claimSlot: (track, batchId, holderLive) => claim(slotKey(track), batchId, holderLive),
    async releaseSlot(track, batchId) {
      await redis.eval(DELETE_IF_EQUALS, 1, slotKey(track), batchId);
    },
    async park(batchId, runId) {
      await redis.set(key('batch', 'parked', batchId), runId);
    },
    unpark: (batchId) => redis.getdel(key('batch', 'parked', batchId)),
    nextHolder: (track) => redis.get(nextKey(track)),
    claimNext: (track, batchId, holderLive) => claim(nextKey(track), batchId, holderLive),
    async releaseNext(track, batchId) {
      await redis.eval(DELETE_IF_EQUALS, 1, nextKey(track), batchId);
    },
  };
}
