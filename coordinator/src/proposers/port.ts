/**
 * The coordinator's side of the proposer port (`@ratchet/proposers`' `ProposerPort`): every
 * built-in proposer (mutation, Ollama) reads and writes through it, and the API serves the
 * same history to proposers on workers.
 */
import type { InFlightItem, PromptHistoryItem, ProposerHistory, ProposerPort } from '@ratchet/proposers';
import { OPEN_PROPOSAL_STATUSES } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { submitProposal } from '../proposals/proposals.ts';
import { answerCounterFields } from './answers.ts';

/** Ended proposals a prompt shows by default. */
export const PROMPT_HISTORY = 60;

/** Ended proposals' history entries by id: they never change, so a proposer reads each once. */
export type EndedCache = Map<string, PromptHistoryItem>;

/**
 * The track's research history: up to `limit` ended proposals and the open ones, newest first.
 * Proposals and their last runs are read in batches; with `ended`, a proposal that has ended is
 * read only once over the rounds (rounds are frequent and share the coordinator with leases).
 */
export async function trackHistory(
  deps: Deps,
  track: string,
  limit = PROMPT_HISTORY,
  ended?: EndedCache,
): Promise<ProposerHistory> {
  const out: ProposerHistory = { items: [], inFlight: [] };
  const window = Math.max(200, limit);
  const ids = (await deps.store.proposalIds(track, window)).reverse();
  const fresh = await deps.store.getProposals(ids.filter((id) => !ended?.has(id)));
  const isOpen = (status: string) => (OPEN_PROPOSAL_STATUSES as readonly string[]).includes(status);
  const lastIds = fresh.filter((p) => !isOpen(p.status)).flatMap((p) => p.experimentIds.slice(-1));
  const runs = new Map((await deps.store.getExperiments(lastIds)).map((e) => [e.id, e]));
  const now = new Map<string, { open: InFlightItem } | { item: PromptHistoryItem }>();
  for (const p of fresh) {
    if (isOpen(p.status)) {
      now.set(p.id, { open: { description: p.description, status: p.status, base: p.base } });
      continue;
    }
    const last = p.experimentIds[p.experimentIds.length - 1];
    const e = last ? runs.get(last) : undefined;
    const item: PromptHistoryItem = {
      description: p.description,
      status: p.status,
      hardwareClass: e?.hardwareClass ?? null,
      delta: p.decision?.delta ?? e?.delta ?? null,
      proposer: p.proposer,
      crashTail: e?.crash ? `${e.crash.reason}: ${e.logTail.slice(-400)}` : null,
      base: p.base,
    };
    ended?.set(p.id, item);
    now.set(p.id, { item });
  }
  for (const id of ids) {
    const x = now.get(id);
    if (x && 'open' in x) out.inFlight.push(x.open);
    else {
      const item = x?.item ?? ended?.get(id);
      if (item && out.items.length < limit) out.items.push(item);
    }
  }
  if (ended && ended.size > 2 * window)
    for (const id of [...ended.keys()].slice(0, ended.size - window)) ended.delete(id);
  return out;
}

/** The port of a built-in proposer; each keeps its own cache of ended proposals. */
export function coordinatorPort(deps: Deps): ProposerPort {
  const ended: EndedCache = new Map();
  return {
    async frontier(track) {
      const t = await deps.store.requireTrack(track);
      const head = (await deps.frontier.head(track)) ?? t.head;
      const files: Record<string, string> = {};
      for (const f of t.config.editable) files[f] = await deps.frontier.readFile(head, f);
      return { head, editable: t.config.editable, files };
    },
    history: (track, limit) => trackHistory(deps, track, limit, ended),
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
