/**
 * A confirmation waits for a rival ahead of it. Two promising screens on one head that change
 * the same lines (two values of one constant, say) cannot both merge: whichever merges first,
 * the other conflicts with the head. Confirmed side by side, one of the two confirmations is
 * wasted whenever the first merges; with 16 workers that was common. So a confirmation waits
 * while a rival's confirmation, queued before it and from a screen at least as good, runs
 * (or its accepted winner is merging). When the rival merges, the waiting
 * proposal ends as a conflict without running (`freshen.ts`); when the rival fails, it runs.
 * Proposals that change other lines never wait for each other: merges of independent winners
 * are not serialized (holding every confirmation behind any winner was tried and cost more
 * than it saved: `docs/architecture.md`). Workers take other jobs meanwhile.
 */
import type { Experiment, Proposal } from '@ratchet/shared';
import { FINAL_PROPOSAL_STATUSES } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { parsePatch } from '../frontier/text-patch.ts';

/** How long a merge takes to follow an accepted run's report, at most, for this purpose. */
const MERGING_MS = 5_000;

const isConfirm = (e: Experiment) =>
  e.kind === 'candidate' && e.stage === 'confirm' && !e.batchId && e.proposalId !== null;

/** The base lines a patch changes, as `path:line`; null when it cannot be read in process. */
export function changedLines(patch: string): Set<string> | null {
  const files = parsePatch(patch);
  if (!files) return null;
  const out = new Set<string>();
  for (const f of files)
    for (const h of f.hunks) {
      let line = h.oldStart;
      for (const l of h.lines) {
        if (l[0] === '-') out.add(`${f.path}:${line}`);
        if (l[0] !== '+') line++;
      }
    }
  return out;
}

/** Whether two patches on one base change a line in common. */
export function collide(a: string, b: string): boolean {
  const x = changedLines(a);
  const y = changedLines(b);
  if (!x || !y) return false;
  for (const l of x) if (y.has(l)) return true;
  return false;
}

/** Note a leased confirmation, for the rivals that may wait for it. */
export async function noteLeased(deps: Deps, e: Experiment): Promise<void> {
  if (deps.config.rebaseOnLease && isConfirm(e))
    await deps.store.noteConfirmation(e.track, e.id, deps.clock.now());
}

/** The rival's proposal while its confirmation `e` may still merge it: running, or accepted and merging. */
async function stillAhead(deps: Deps, e: Experiment): Promise<Proposal | null> {
  if (!e.proposalId) return null;
  if (e.status !== 'running' && (e.status !== 'ok' || deps.clock.now() - (e.recordedAt ?? 0) > MERGING_MS))
    return null;
  const p = await deps.store.getProposal(e.proposalId);
  if (!p || FINAL_PROPOSAL_STATUSES.includes(p.status)) return null;
  return e.status === 'running' || p.decision?.verdict === 'accept' ? p : null;
}

/** The rival confirmation this one waits for, or null when it may run now. */
export async function rivalAhead(deps: Deps, exp: Experiment): Promise<string | null> {
  if (!deps.config.rebaseOnLease || !isConfirm(exp)) return null;
  const p = await deps.store.getProposal(exp.proposalId!);
  if (!p || p.base !== exp.base) return null;
  const mine = p.decision?.delta ?? null;
  const gone: string[] = [];
  let ahead: string | null = null;
  for (const id of await deps.store.confirmations(exp.track)) {
    const e = await deps.store.getExperiment(id);
    const rival = e ? await stillAhead(deps, e) : null;
    if (!e || !rival) {
      gone.push(id);
      continue;
    }
    // Any base: a rival on a newer head that changes the same line conflicts just the same
    // once it merged (line numbers of a constant do not move); a wrong guess only delays.
    if (ahead !== null || rival.id === p.id || e.createdAt > exp.createdAt) continue;
    const theirs = rival.decision?.delta ?? null;
    if (mine !== null && theirs !== null && theirs > mine) continue;
    if (collide(rival.patch, p.patch)) ahead = e.id;
  }
  await deps.store.forgetConfirmations(exp.track, gone);
  return ahead;
}
