/** Bearer tokens: random, shown once, stored only as SHA-256 hashes, each with a role. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, RatchetError, type Role } from '@ratchet/shared';
import type { Store, TokenRecord } from '../store/store.ts';

export interface Principal {
  role: Role;
  name: string;
  trusted: boolean;
  /** A worker token granted the proposer capability. */
  canPropose?: boolean;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(role: Role): string {
  return `rt_${role}_${randomBytes(24).toString('base64url')}`;
}

const ROLE_ALLOWS: Record<Role, readonly Role[]> = {
  admin: ['admin', 'proposer', 'worker'],
  proposer: ['proposer'],
  worker: ['worker'],
};

export function roleAllows(have: Role, need: Role): boolean {
  return ROLE_ALLOWS[have].includes(need);
}

export function createAuth(store: Store, adminToken: string | null) {
  const adminHash = adminToken ? Buffer.from(hashToken(adminToken), 'hex') : null;
  return {
    async resolve(token: string | null): Promise<Principal | null> {
      if (!token) return null;
      const h = hashToken(token);
      if (adminHash && timingSafeEqual(adminHash, Buffer.from(h, 'hex'))) {
        return { role: 'admin', name: 'admin', trusted: true, canPropose: true };
      }
      const rec = await store.getToken(h);
      return rec
        ? { role: rec.role, name: rec.name, trusted: rec.trusted, canPropose: rec.canPropose }
        : null;
    },
    async create(
      role: Role,
      name: string,
      trusted: boolean,
      now: number,
      canPropose = false,
    ): Promise<string> {
      const token = newToken(role);
      const rec: TokenRecord = { role, name, trusted, canPropose, createdAt: now };
      await store.putToken(hashToken(token), rec);
      return token;
    },
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
