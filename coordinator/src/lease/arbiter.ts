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

export async function mayRun(deps: Deps, w: WorkerRecord, exp: Experiment, cls: string): Promise<boolean> {
  const excluded = exp.excludePrincipals ?? [];
  if (excluded.length === 0) return true;
  if (excluded.includes(workerPrincipal(w).id)) return false;
  if (exp.stage !== 'arbitrate' || (await isTrusted(deps, w.id, cls))) return true;
  const now = deps.clock.now();
  for (const o of await deps.store.listWorkers()) {
    if (o.id === w.id || now - o.lastSeenAt >= deps.config.leaseTtlMs * 3) continue;
    if (o.hardwareClass !== cls && !Object.values(o.classes).includes(cls)) continue;
    if (excluded.includes(workerPrincipal(o).id)) continue;
    if (await isTrusted(deps, o.id, cls)) return false;
  }
  return true;
}
