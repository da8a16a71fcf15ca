/**
 * Tokens a volunteer pool can live with: listing, revocation that reaches live leases,
 * per-token hourly limits, and an audit trail of who proposed, ran and merged what.
 * Keys: `token:<sha256>` (the records), `ratelimit:<tokenId>:<action>` (a sorted set of
 * timestamps, one rolling hour), `audit` (a Redis stream, capped at about 100,000 entries).
 */
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { release } from '../lease/leasing.ts';
import { type LeaseRecord, LeaseRecord as LeaseSchema, TokenRecord } from '../store/store.ts';
import { type Principal, tokenIdOf } from './tokens.ts';

export interface TokenInfo extends TokenRecord {
  id: string;
}

export async function listTokens(deps: Deps): Promise<TokenInfo[]> {
  const out: TokenInfo[] = [];
  for (const [hash, raw] of await deps.store.registry.tokens()) {
    out.push({ ...TokenRecord.parse(JSON.parse(raw)), id: tokenIdOf(hash) });
  }
  return out.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Revoke the tokens whose id starts with `idOrName` (at least 6 hex digits) or whose name is
 * `idOrName`. At once: every request with them is refused from now on, and every lease held
 * by a worker they registered goes back to the queue (its run's result would be refused).
 */
export async function revokeTokens(
  deps: Deps,
  idOrName: string,
): Promise<{ revoked: TokenInfo[]; leasesReleased: string[] }> {
  const byId = /^[0-9a-f]{6,64}$/.test(idOrName);
  const matches = (await listTokens(deps)).filter(
    (t) => t.revokedAt === null && (t.name === idOrName || (byId && t.id.startsWith(idOrName.slice(0, 16)))),
  );
  if (matches.length === 0) {
    throw new RatchetError(ErrorCodes.BAD_INPUT, `no live token with id or name ${idOrName}`);
  }
  const now = deps.clock.now();
  for (const [hash] of await deps.store.registry.tokens()) {
    if (!matches.some((m) => m.id === tokenIdOf(hash))) continue;
    const rec = await deps.store.getToken(hash);
    if (rec) await deps.store.putToken(hash, { ...rec, revokedAt: now });
  }
  const ids = new Set(matches.map((m) => m.id));
  const workers = (await deps.store.listWorkers()).filter((w) => w.tokenId && ids.has(w.tokenId));
  const workerIds = new Set(workers.map((w) => w.id));
  // Gone at once: not counted live, so no confirmation waits for a worker that cannot come back.
  for (const w of workers) await deps.store.putWorker({ ...w, lastSeenAt: 0 });
  const leasesReleased: string[] = [];
  for (const raw of await deps.store.registry.leases()) {
    const l: LeaseRecord = LeaseSchema.parse(JSON.parse(raw));
    if (!workerIds.has(l.workerId)) continue;
    try {
      await release(deps, { workerId: l.workerId, experimentId: l.experimentId, leaseToken: l.token });
      leasesReleased.push(l.experimentId);
    } catch {
      // finished or lost meanwhile: nothing left to take back
    }
  }
  for (const t of matches)
    await audit(deps, { actor: 'admin', action: 'token.revoke', subject: t.id, detail: t.name });
  for (const e of leasesReleased)
    await audit(deps, { actor: 'admin', action: 'lease.revoke', subject: e, detail: '' });
  return { revoked: matches.map((m) => ({ ...m, revokedAt: now })), leasesReleased };
}

export type RateAction = 'propose' | 'lease';
const HOUR_MS = 3_600_000;

/** Refuse with RATE_LIMITED when the token used its hourly allowance for `action`. */
export async function assertUnderLimit(deps: Deps, p: Principal, action: RateAction): Promise<void> {
  const limit = (action === 'propose' ? p.proposalsPerHour : p.leasesPerHour) ?? null;
  if (limit === null || !p.tokenId) return;
  const used = await deps.store.registry.usesWithin(p.tokenId, action, deps.clock.now(), HOUR_MS);
  if (used >= limit) {
    throw new RatchetError(
      ErrorCodes.RATE_LIMITED,
      `token ${p.name} used its ${limit} ${action === 'propose' ? 'proposals' : 'leases'} of the last hour`,
    );
  }
}

/** Count one use of `action` against the token's hourly allowance. */
export async function countUse(deps: Deps, p: Principal, action: RateAction): Promise<void> {
  if (!p.tokenId) return;
  await deps.store.registry.countUse(p.tokenId, action, deps.clock.now(), HOUR_MS);
}

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: string;
}

export async function audit(deps: Deps, e: Omit<AuditEntry, 'at'>): Promise<void> {
  await deps.store.registry.appendAudit({ ...e, at: deps.clock.now() });
}

/** The newest `limit` entries, oldest first. */
export async function readAudit(deps: Deps, limit: number): Promise<AuditEntry[]> {
  return (await deps.store.registry.readAudit(limit)).reverse();
}

/** Who a principal is in the audit trail: the token's name and id. */
export function actorOf(p: Principal): string {
  return p.tokenId ? `${p.name} (${p.tokenId.slice(0, 8)})` : p.name;
}
