/** Bearer tokens: random, shown once, stored only as SHA-256 hashes, each with a role. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type ErrorCode, ErrorCodes, RatchetError, type Role } from '@ratchet/shared';
import type { Store, TokenRecord } from '../store/store.ts';

export interface Principal {
  role: Role;
  name: string;
  trusted: boolean;
  /** A worker token granted the proposer capability. */
  canPropose?: boolean;
  /** Id of the token (a prefix of its hash; never the token), for limits, audit and revocation. */
  tokenId?: string;
  /** Hourly allowances of the token (null: unlimited). */
  proposalsPerHour?: number | null;
  leasesPerHour?: number | null;
  /** When the token stops being valid (null: never); a cache must not keep it longer. */
  expiresAt?: number | null;
}

/** A token's public id: the first 16 hex digits of its SHA-256. */
export function tokenIdOf(hash: string): string {
  return hash.slice(0, 16);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(role: Role): string {
  return `rt_${role}_${randomBytes(24).toString('base64url')}`;
}

const ROLE_ALLOWS: Record<Role, readonly Role[]> = {
  admin: ['admin', 'proposer', 'worker', 'viewer'],
  proposer: ['proposer', 'viewer'],
  worker: ['worker', 'viewer'],
  viewer: ['viewer'],
};

export function roleAllows(have: Role, need: Role): boolean {
  return ROLE_ALLOWS[have].includes(need);
}

/** Revoked or expired: the code and message to refuse it with; null when it is valid. */
export function tokenRefusal(rec: TokenRecord, now: number): { code: ErrorCode; message: string } | null {
  if (rec.revokedAt !== null)
    return { code: ErrorCodes.TOKEN_REVOKED, message: `token ${rec.name} was revoked` };
  if (rec.expiresAt !== null && now >= rec.expiresAt)
    return { code: ErrorCodes.TOKEN_EXPIRED, message: `token ${rec.name} expired` };
  return null;
}

/** What a volunteer pool sets per token: expiry and hourly limits. */
export interface TokenLimits {
  expiresAt?: number | null;
  proposalsPerHour?: number | null;
  leasesPerHour?: number | null;
}

export function createAuth(store: Store, adminToken: string | null, clock: { now(): number } = Date) {
  const adminHash = adminToken ? Buffer.from(hashToken(adminToken), 'hex') : null;
  return {
    async resolve(token: string | null): Promise<Principal | null> {
      if (!token) return null;
      const h = hashToken(token);
      if (adminHash && timingSafeEqual(adminHash, Buffer.from(h, 'hex'))) {
        return { role: 'admin', name: 'admin', trusted: true, canPropose: true };
      }
      const rec = await store.getToken(h);
      if (!rec || tokenRefusal(rec, clock.now())) return null;
      return {
        role: rec.role,
        name: rec.name,
        trusted: rec.trusted,
        canPropose: rec.canPropose,
        tokenId: tokenIdOf(h),
        proposalsPerHour: rec.proposalsPerHour,
        leasesPerHour: rec.leasesPerHour,
        expiresAt: rec.expiresAt,
      };
    },
    /** Why a token is refused (code and message), or null when it is accepted. */
    async refusal(token: string | null): Promise<{ code: ErrorCode; message: string } | null> {
      if (!token) return { code: ErrorCodes.UNAUTHENTICATED, message: 'missing or unknown token' };
      if (await this.resolve(token)) return null;
      const rec = await store.getToken(hashToken(token));
      return (
        (rec && tokenRefusal(rec, clock.now())) ?? {
          code: ErrorCodes.UNAUTHENTICATED,
          message: 'missing or unknown token',
        }
      );
    },
    async create(
      role: Role,
      name: string,
      trusted: boolean,
      now: number,
      canPropose = false,
      limits: TokenLimits = {},
    ): Promise<string> {
      const token = newToken(role);
      const rec: TokenRecord = {
        role,
        name,
        trusted,
        canPropose,
        createdAt: now,
        expiresAt: limits.expiresAt ?? null,
        revokedAt: null,
        proposalsPerHour: limits.proposalsPerHour ?? null,
        leasesPerHour: limits.leasesPerHour ?? null,
      };
      await store.putToken(hashToken(token), rec);
      return token;
    },
    /** Forget what is cached of one token (by hash), or of all; nothing is cached here. */
    invalidate(_hash?: string): void {},
    require(p: Principal | null, need: Role): Principal {
      if (!p) throw new RatchetError(ErrorCodes.UNAUTHENTICATED, 'missing or unknown token');
      if (!roleAllows(p.role, need) && !(need === 'proposer' && p.canPropose)) {
        throw new RatchetError(ErrorCodes.FORBIDDEN, `role ${p.role} may not do this (needs ${need})`);
      }
      return p;
    },
  };
}
export type Auth = ReturnType<typeof createAuth>;

/** `Authorization: Bearer T` or Basic with the token as password (what `git clone` sends). */
export function tokenFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const idx = decoded.indexOf(':');
    const pass = idx >= 0 ? decoded.slice(idx + 1) : decoded;
    return pass || null;
  }
  return null;
}
