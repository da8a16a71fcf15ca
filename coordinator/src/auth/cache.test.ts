/** The token cache against a real Redis store: hits skip Redis, invalidation and TTL end them. */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanRedis, uniquePrefix } from '../../../test/support/harness.ts';
import { createRedis } from '../store/redis.ts';
import { createStore } from '../store/store.ts';
import { withAuthCache } from './cache.ts';
import { createAuth, hashToken } from './tokens.ts';

const prefix = uniquePrefix('authcache');
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const store = createStore(redis, prefix);
afterAll(async () => {
  await cleanRedis(prefix);
  redis.disconnect();
});

/** Removes a token's record behind the cache's back, as another replica's revoke would. */
const dropRecord = (token: string) => redis.del(`${prefix}:token:${hashToken(token)}`);

describe('withAuthCache', () => {
  it('answers a known token from memory until invalidated', async () => {
    const auth = withAuthCache(createAuth(store, null));
    const token = await auth.create('worker', 'w1', false, 1);
    expect((await auth.resolve(token))?.name).toBe('w1');
    await dropRecord(token);
    // The record is gone from Redis: only the cache can still answer.
    expect((await auth.resolve(token))?.name).toBe('w1');
    auth.invalidate(hashToken(token));
    expect(await auth.resolve(token)).toBeNull();
  });

  it('looks again after the TTL, and never keeps unknown tokens', async () => {
    let t = 1_000;
    const auth = withAuthCache(createAuth(store, null), { ttlMs: 500, now: () => t });
    const token = await auth.create('worker', 'w2', false, 1);
    expect(await auth.resolve(token)).not.toBeNull();
    await dropRecord(token);
    t += 499;
    expect(await auth.resolve(token)).not.toBeNull();
    t += 1;
    expect(await auth.resolve(token)).toBeNull();
    for (let i = 0; i < 20; i++) expect(await auth.resolve(`rt_worker_bogus${i}`)).toBeNull();
    expect(auth.cacheSize()).toBe(0);
  });

  it('evicts the least recently used beyond its size', async () => {
    const auth = withAuthCache(createAuth(store, null), { max: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => auth.create('worker', n, false, 1)));
    await auth.resolve(a!);
    await auth.resolve(b!);
    await auth.resolve(a!); // a is now the most recent; b goes first
    await auth.resolve(c!);
    expect(auth.cacheSize()).toBe(2);
    await Promise.all([a!, b!, c!].map(dropRecord));
    expect(await auth.resolve(a!)).not.toBeNull();
    expect(await auth.resolve(c!)).not.toBeNull();
    expect(await auth.resolve(b!)).toBeNull();
  });

  it('invalidate() with no hash forgets every token, the admin token included', async () => {
    const auth = withAuthCache(createAuth(store, 'admin-token-0123456789'));
    const w = await auth.create('worker', 'w3', false, 1);
    expect((await auth.resolve('admin-token-0123456789'))?.role).toBe('admin');
    await auth.resolve(w);
    expect(auth.cacheSize()).toBe(2);
    auth.invalidate();
    expect(auth.cacheSize()).toBe(0);
  });
});

describe('withAuthCache and expiry', () => {
  it('keeps no token past its own expiry', async () => {
    let t = 10_000;
    const auth = withAuthCache(createAuth(store, null, { now: () => t }), { ttlMs: 60_000, now: () => t });
    const token = await auth.create('worker', 'brief', false, t, false, { expiresAt: t + 500 });
    expect(await auth.resolve(token)).not.toBeNull();
    t += 499;
    expect(await auth.resolve(token)).not.toBeNull();
    t += 1;
    expect(await auth.resolve(token)).toBeNull();
  });
});
