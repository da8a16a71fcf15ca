/**
 * The Ollama proposer inside the coordinator: the LLM core of @ratchet/proposers with direct
 * access to the store, keeping the track's queue at its target depth.
 */
import {
  createLlmProposer,
  type LlmProposerOptions,
  type PromptHistoryItem,
  type ProposerPort,
} from '@ratchet/proposers';
import { OPEN_PROPOSAL_STATUSES } from '@ratchet/shared';
import type { Deps } from '../service/deps.ts';
import { submitProposal } from '../service/proposals.ts';
import { answerCounterFields } from './answers.ts';
import { periodic } from './periodic.ts';

const OPEN = new Set<string>(OPEN_PROPOSAL_STATUSES);

export async function trackHistory(
  deps: Deps,
  track: string,
): Promise<{ items: PromptHistoryItem[]; inFlight: string[] }> {
  const items: PromptHistoryItem[] = [];
  const inFlight: string[] = [];
  for (const p of await deps.store.listProposals(track, 200)) {
    if (OPEN.has(p.status)) {
      inFlight.push(p.description);
      continue;
    }
    const last = p.experimentIds[p.experimentIds.length - 1];
    const e = last ? await deps.store.getExperiment(last) : null;
    items.push({
      description: p.description,
      status: p.status,
      hardwareClass: e?.hardwareClass ?? null,
      delta: p.decision?.delta ?? e?.delta ?? null,
      proposer: p.proposer,
      crashTail: e?.crash ? `${e.crash.reason}: ${e.logTail.slice(-400)}` : null,
    });
  }
  return { items: items.slice(0, 60), inFlight };
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
    history: (track) => trackHistory(deps, track),
    async submit(input) {
      const r = await submitProposal(deps, input);
      return { id: r.proposal.id, created: r.created };
    },
    async countAnswer(answer) {
      for (const field of answerCounterFields(answer)) await deps.store.incrCounter(field);
    },
  };
}

export function createOllamaProposer(
  deps: Deps,
  o: LlmProposerOptions & { perWorker?: number; intervalMs?: number },
) {
  const core = createLlmProposer(coordinatorPort(deps), o);

  async function tick(): Promise<number> {
    const now = deps.clock.now();
    const live = (await deps.store.listWorkers()).filter(
      (w) => now - w.lastSeenAt < deps.config.leaseTtlMs * 3,
    );
    const target = (o.perWorker ?? 2) * Math.max(1, live.length);
    let open = (await trackHistory(deps, o.track)).inFlight.length;
    let made = 0;
    while (open < target) {
      if (!(await core.proposeOne())) break;
      open++;
      made++;
    }
    return made;
  }

  return {
    proposeOne: core.proposeOne,
    tick,
    ...periodic(tick, o.intervalMs ?? 5_000, (m) => ((m) => o.log?.(m))(`ollama proposer: ${m}`)),
  };
}
