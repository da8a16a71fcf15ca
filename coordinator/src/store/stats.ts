/**
 * Aggregates behind /metrics, kept up to date as records are written, so that a scrape reads
 * a handful of small hashes instead of every experiment (O(tracks × classes × statuses),
 * whatever the history's length). Keys live under `<prefix>:m:*`.
 *
 * State counts: each experiment and proposal has its current "state key" (e.g. track, status,
 * verdict, class) in a hash; moving it is one Lua call that decrements the old key's count
 * and increments the new one's, and says what the old key was, so the caller can count the
 * transition exactly once, whatever process wrote before.
 */
import type { Redis } from './redis.ts';

/** Separator inside composite hash fields (never part of a track id, class or status). */
export const SEP = '\t';

export type StatsStore = ReturnType<typeof createStatsStore>;

const TRANSITION = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[2] then return {1, old} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old then redis.call('HINCRBY', KEYS[2], old, -1) end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if old then return {0, old} end
return {0, false}
`;

const LOWER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and tonumber(cur) <= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

export interface Transition {
  /** The state key before this write; null for a record seen for the first time. */
  old: string | null;
  changed: boolean;
}

export function createStatsStore(redis: Redis, prefix: string) {
  const k = (...parts: string[]) => [prefix, 'm', ...parts].join(':');
  const numbers = async (key: string): Promise<Record<string, number>> => {
    const h = await redis.hgetall(key);
    return Object.fromEntries(Object.entries(h).map(([f, v]) => [f, Number(v)]));
  };
  async function transition(kind: 'exp' | 'prop', id: string, state: string): Promise<Transition> {
    const r = (await redis.eval(TRANSITION, 2, k(kind, 'state'), k(kind, 'counts'), id, state)) as [
      number,
      string | null,
    ];
    return { old: r[1] ?? null, changed: r[0] === 0 };
  }
  return {
    experiment: (id: string, state: string) => transition('exp', id, state),
    proposal: (id: string, state: string) => transition('prop', id, state),
    /** Current number of records per state key. */
    counts: (kind: 'exp' | 'prop') => numbers(k(kind, 'counts')),
    /** Keep the lowest value per field; true when `value` is a new low. */
    async lower(field: string, value: number): Promise<boolean> {
      return (await redis.eval(LOWER, 1, k('best'), field, String(value))) === 1;
    },
    best: () => numbers(k('best')),
    async addStrategy(field: string, by: number) {
      await redis.hincrbyfloat(k('strategy'), field, by);
    },
    strategies: () => numbers(k('strategy')),
    /** When a track's frontier last moved (epoch ms); `onlyIfMissing` for a track's creation. */
    async frontierMoved(track: string, atMs: number, onlyIfMissing = false) {
      if (onlyIfMissing) await redis.hsetnx(k('frontier'), track, String(atMs));
      else await redis.hset(k('frontier'), track, String(atMs));
    },
    frontierTimes: () => numbers(k('frontier')),
    /**
     * A worker of `cls` was seen at `atMs`. Workers unseen for `forgetMs` are dropped (a
     * restarted worker registers anew: its old id would count as offline forever).
     */
    async workerSeen(cls: string, id: string, atMs: number, forgetMs: number) {
      await redis
        .multi()
        .sadd(k('classes'), cls)
        .zadd(k('seen', cls), atMs, id)
        .zremrangebyscore(k('seen', cls), '-inf', `(${atMs - forgetMs}`)
        .exec();
    },
    /** Per class: workers seen since `liveSinceMs`, and those seen since `offlineSinceMs` only. */
    async workersByClass(
      liveSinceMs: number,
      offlineSinceMs: number,
    ): Promise<{ cls: string; live: number; offline: number }[]> {
      const classes = (await redis.smembers(k('classes'))).sort();
      if (classes.length === 0) return [];
      const m = redis.multi();
      for (const c of classes) {
        m.zcount(k('seen', c), liveSinceMs, '+inf').zcount(k('seen', c), offlineSinceMs, `(${liveSinceMs}`);
      }
      const res = (await m.exec()) ?? [];
      return classes.map((cls, i) => ({
        cls,
        live: Number(res[2 * i]?.[1] ?? 0),
        offline: Number(res[2 * i + 1]?.[1] ?? 0),
      }));
    },
    /** Set once the aggregates cover every record written before they existed. */
    async isBackfilled(): Promise<boolean> {
      return (await redis.exists(k('backfilled'))) === 1;
    },
    async markBackfilled(atMs: number) {
      await redis.set(k('backfilled'), String(atMs));
    },
    async ping(timeoutMs: number): Promise<boolean> {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          redis.ping().then((r) => r === 'PONG'),
          new Promise<boolean>((res) => {
            timer = setTimeout(() => res(false), timeoutMs);
          }),
        ]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
