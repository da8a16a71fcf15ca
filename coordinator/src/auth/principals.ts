/**
 * Principals: who stands behind a worker. A worker ID is bound at register to the token that
 * registered it, and only that token may lease, heartbeat, complete or release with it.
 *
 * The principal is the token id (the admin token, which has none, is the one principal
 * `admin`). Independence is counted in principals, not worker IDs: one token may register any
 * number of workers, but their results never confirm each other. Hosts are not part of the
 * principal: a worker states its own host, so a token could claim as many as it likes;
 * the token is the one identity a worker cannot forge.
 */
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import type { WorkerRecord } from '../store/store.ts';
import type { Principal } from './tokens.ts';

/** The principal of the admin token (and of workers it registered). */
export const ADMIN_PRINCIPAL = 'admin';

/** A run's principal as the lifecycle sees it: an id to compare, a name for verdicts. */
export interface RunPrincipal {
  id: string;
  name: string;
  /** Its token is marked trusted (a lab's own machines). */
  trusted: boolean;
}

export function principalOf(who: Pick<Principal, 'tokenId'>): string {
  return who.tokenId ?? ADMIN_PRINCIPAL;
}

export function workerPrincipal(w: Pick<WorkerRecord, 'tokenId' | 'tokenName' | 'trusted'>): RunPrincipal {
  return { id: w.tokenId ?? ADMIN_PRINCIPAL, name: w.tokenName, trusted: w.trusted };
}

/** The worker, when `who` registered it; refused with WORKER_NOT_OWNED when another token did. */
export async function requireOwnWorker(
  deps: Pick<Deps, 'store'>,
  who: Pick<Principal, 'tokenId'>,
  workerId: string,
): Promise<WorkerRecord> {
  const w = await deps.store.getWorker(workerId);
  if (!w) throw new RatchetError(ErrorCodes.WORKER_UNKNOWN, `unknown worker ${workerId}: register first`);
  assertOwns(w, who);
  return w;
}

/** Refuses with WORKER_NOT_OWNED when another token than `who` registered `w`. */
export function assertOwns(w: WorkerRecord, who: Pick<Principal, 'tokenId'>): void {
  if (workerPrincipal(w).id !== principalOf(who)) {
    throw new RatchetError(
      ErrorCodes.WORKER_NOT_OWNED,
      `worker ${w.id} was registered with another token: register your own worker`,
    );
  }
}

/** The principal behind a worker ID, or null when the worker is unknown. */
export async function principalOfWorker(
  deps: Pick<Deps, 'store'>,
  workerId: string | null,
): Promise<RunPrincipal | null> {
  if (!workerId) return null;
  const w = await deps.store.getWorker(workerId);
  return w ? workerPrincipal(w) : null;
}
