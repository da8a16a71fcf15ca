/**
 * Resolved tokens, kept in process for a short while: every request used to cost a SHA-256,
 * a Redis GET and a zod parse. Only valid tokens are kept (an unknown one is looked up each
 * time, so random tokens cannot fill the cache); the least recently used go first.
 * A token revoked through this process is dropped at once with `invalidate(hash)`; one
 * revoked elsewhere (another coordinator replica) stops working within `ttlMs`; an expiring
 * token is never kept past its expiry.
 */
import { type Auth, hashToken, type Principal } from './tokens.ts';

export interface AuthCacheOptions {
  ttlMs?: number;
  max?: number;
  now?: () => number;
}

interface Entry {
  principal: Principal;
  hash: string;
  until: number;
}

export type CachedAuth = Auth & {
  cacheSize(): number;
};

export function withAuthCache(auth: Auth, o: AuthCacheOptions = {}): CachedAuth {
  const ttlMs = o.ttlMs ?? 2_000;
  const max = o.max ?? 10_000;
  const now = o.now ?? Date.now;
  // Keyed by the token itself (it is in this process's memory with every request anyway),
  // which spares the hash on a hit.
  const entries = new Map<string, Entry>();
  let generation = 0;
  return {
    ...auth,
    async resolve(token: string | null): Promise<Principal | null> {
      if (!token) return null;
      const hit = entries.get(token);
      if (hit && hit.until > now()) {
        entries.delete(token);
        entries.set(token, hit);
        return hit.principal;
      }
      if (hit) entries.delete(token);
      const started = generation;
      const principal = await auth.resolve(token);
      // An invalidation while the lookup was in flight wins over what it read.
      if (principal && started === generation) {
        // Never past the token's own expiry.
        const until = Math.min(now() + ttlMs, principal.expiresAt ?? Number.POSITIVE_INFINITY);
        entries.set(token, { principal, hash: hashToken(token), until });
        while (entries.size > max) entries.delete(entries.keys().next().value!);
      }
      return principal;
    },
    /** Forget one token (by its SHA-256 hex hash), or every token when no hash is given. */
    invalidate(hash?: string) {
      auth.invalidate(hash);
      generation++;
      if (hash === undefined) entries.clear();
      else for (const [token, e] of entries) if (e.hash === hash) entries.delete(token);
    },
    cacheSize: () => entries.size,
  };
}
