/**
 * Who may lease a run that names principals to keep away (`excludePrincipals`): an
 * arbitration between a screen and a confirmation that disagree, or a baseline that must come
 * from another principal than the unverified ones. Such a run waits for a worker of another
 * principal, however long; an arbitration also prefers a trusted worker while one of another
 * principal is live on the class.
 */
import type { Experiment } from '@ratchet/shared';
import { workerPrincipal } from '../auth/principals.ts';
import { isTrusted } from '../baselines/baseline-verify.ts';
import type { Deps } from '../deps.ts';
import type { WorkerRecord } from '../store/store.ts';

/** Whether a worker counts as live on class `cls`: seen lately and able to run the class. */
function liveOn(deps: Deps, o: WorkerRecord, cls: string): boolean {
  if (deps.clock.now() - o.lastSeenAt >= deps.config.leaseTtlMs * 3) return false;
  return o.hardwareClass === cls || Object.values(o.classes).includes(cls);
}

/** The principals with a live worker on class `cls`. */
export async function livePrincipals(deps: Deps, cls: string): Promise<string[]> {
  const out = new Set<string>();
  for (const o of await deps.store.listWorkers()) if (liveOn(deps, o, cls)) out.add(workerPrincipal(o).id);
  return [...out];
}

export async function mayRun(deps: Deps, w: WorkerRecord, exp: Experiment, cls: string): Promise<boolean> {
  const excluded = exp.excludePrincipals ?? [];
  if (excluded.length === 0) return true;
  if (excluded.includes(workerPrincipal(w).id)) return false;
  if (exp.stage !== 'arbitrate' || (await isTrusted(deps, w.id, cls))) return true;
  for (const o of await deps.store.listWorkers()) {
    if (o.id === w.id || !liveOn(deps, o, cls)) continue;
    if (excluded.includes(workerPrincipal(o).id)) continue;
    if (await isTrusted(deps, o.id, cls)) return false;
  }
  return true;
}
