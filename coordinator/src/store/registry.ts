/**
 * Records a volunteer pool needs besides the domain's: every token and live lease (for
 * listing and revocation), per-token rolling-window counters (rate limits), and the audit
 * trail (a Redis stream capped at about 100,000 entries).
 */
import type { Redis } from './redis.ts';

export interface AuditFields {
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: string;
}

export interface RegistryStore {
  /** Every token record as [its hash, its raw JSON]. */
  tokens(): Promise<[string, string][]>;
  /** Every live lease record's raw JSON. */
  leases(): Promise<string[]>;
  /** Uses of `action` by a token within the last `windowMs` before `now`. */
  usesWithin(tokenId: string, action: string, now: number, windowMs: number): Promise<number>;
  countUse(tokenId: string, action: string, now: number, windowMs: number): Promise<void>;
  appendAudit(e: AuditFields): Promise<void>;
  /** The newest `limit` entries, newest first. */
  readAudit(limit: number): Promise<AuditFields[]>;
}

export function createRegistryStore(redis: Redis, key: (...parts: string[]) => string): RegistryStore {
  async function scan(pattern: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  }
  const rate = (tokenId: string, action: string) => key('ratelimit', tokenId, action);
  return {
    async tokens() {
      const prefix = key('token', '');
      const out: [string, string][] = [];
      for (const k of await scan(`${prefix}*`)) {
        const raw = await redis.get(k);
        if (raw !== null) out.push([k.slice(prefix.length), raw]);
      }
      return out;
    },
    async leases() {
      const out: string[] = [];
      for (const k of await scan(`${key('lease', '')}*`)) {
        const raw = await redis.get(k);
        if (raw !== null) out.push(raw);
      }
      return out;
    },
    async usesWithin(tokenId, action, now, windowMs) {
      await redis.zremrangebyscore(rate(tokenId, action), 0, now - windowMs);
      return redis.zcard(rate(tokenId, action));
    },
    async countUse(tokenId, action, now, windowMs) {
      await redis
        .multi()
        .zadd(rate(tokenId, action), now, `${now}-${Math.random().toString(36).slice(2)}`)
        .pexpire(rate(tokenId, action), windowMs)
        .exec();
    },
    async appendAudit(e) {
      await redis.xadd(
        key('audit'),
        'MAXLEN',
        '~',
        '100000',
        '*',
        'at',
        String(e.at),
        'actor',
        e.actor,
        'action',
        e.action,
        'subject',
        e.subject,
        'detail',
        e.detail,
      );
    },
    async readAudit(limit) {
      const rows = await redis.xrevrange(key('audit'), '+', '-', 'COUNT', limit);
      return rows.map(([, fields]) => {
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
        return {
          at: Number(f.get('at')),
          actor: f.get('actor') ?? '',
          action: f.get('action') ?? '',
          subject: f.get('subject') ?? '',
          detail: f.get('detail') ?? '',
        };
      });
    },
  };
}
