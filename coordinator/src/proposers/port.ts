/**
 * The coordinator's side of the proposer port (`@ratchet/proposers`' `ProposerPort`): every
 * built-in proposer (mutation, Ollama) reads and writes through it, and the API serves the
 * same history to proposers on workers.
 */
import type { ProposerHistory, ProposerPort } from '@ratchet/proposers';
import { OPEN_PROPOSAL_STATUSES } from '@ratchet/shared';
import type { Deps } from '../service/deps.ts';
import { submitProposal } from '../service/proposals.ts';
import { answerCounterFields } from './answers.ts';

/** Ended proposals a prompt shows by default. */
export const PROMPT_HISTORY = 60;

/** The track's research history: up to `limit` ended proposals and the open ones, newest first. */
export async function trackHistory(
  deps: Deps,
  track: string,
  limit = PROMPT_HISTORY,
): Promise<ProposerHistory> {
  const out: ProposerHistory = { items: [], inFlight: [] };
  for (const p of await deps.store.listProposals(track, Math.max(200, limit))) {
    if (OPEN_PROPOSAL_STATUSES.includes(p.status)) {
      out.inFlight.push({ description: p.description, status: p.status, base: p.base });
      continue;
    }
    if (out.items.length >= limit) continue;
    const last = p.experimentIds[p.experimentIds.length - 1];
    const e = last ? await deps.store.getExperiment(last) : null;
    out.items.push({
      description: p.description,
      status: p.status,
      hardwareClass: e?.hardwareClass ?? null,
      delta: p.decision?.delta ?? e?.delta ?? null,
      proposer: p.proposer,
      crashTail: e?.crash ? `${e.crash.reason}: ${e.logTail.slice(-400)}` : null,
      base: p.base,
    });
  }
  return out;
}

export function coordinatorPort(deps: Deps): ProposerPort {
  return {
    async frontier(track) {
      const t = await deps.store.requireTrack(track);
      const head = (await deps.frontier.head(track)) ?? t.head;
      const files: Record<string, string> = {};
      for (const f of t.config.editable) files[f] = await deps.frontier.readFile(head, f);
      return { head, editable: t.config.editable, files };
    },
    history: (track, limit) => trackHistory(deps, track, limit),
    async submit(input) {
      const r = await submitProposal(deps, input);
      return { id: r.proposal.id, created: r.created };
    },
    async countAnswer(answer) {
      for (const field of answerCounterFields(answer)) await deps.store.incrCounter(field);
    },
  };
}

/** Workers seen within three lease lifetimes: a proposer keeps its queue deep for each. */
export async function liveWorkers(deps: Deps): Promise<number> {
  const now = deps.clock.now();
  const live = (await deps.store.listWorkers()).filter(
    (w) => now - w.lastSeenAt < deps.config.leaseTtlMs * 3,
  );
  return Math.max(1, live.length);
}
