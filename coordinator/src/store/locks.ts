/**
 * Named locks in Redis with a TTL and an owner token, so that several coordinator processes
 * can serialise work (merges into a track) and a crashed holder cannot block forever.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from './redis.ts';
import { DELETE_IF_EQUALS } from './scripts.ts';

export interface LockStore {
  /** The owner token when acquired, null when someone else holds it. */
  tryAcquire(name: string, ttlMs: number): Promise<string | null>;
  release(name: string, token: string): Promise<void>;
}

export function createLockStore(redis: Redis, key: (...parts: string[]) => string): LockStore {
  return {
    async tryAcquire(name, ttlMs) {
      const token = randomBytes(16).toString('hex');
      const ok = await redis.set(key('lock', name), token, 'PX', ttlMs, 'NX');
      return ok === 'OK' ? token : null;
    },
    async release(name, token) {
      await redis.eval(DELETE_IF_EQUALS, 1, key('lock', name), token);
    },
  };
}
