/**
 * Folding-mode proposing: when its track's queue is empty, a volunteer's worker asks its
 * local Ollama for a proposal and submits it (its token needs the proposer capability),
 * then evaluates whatever the queue gives it. The LLM core is @ratchet/proposers'; this is
 * its port onto the coordinator's API.
 */
import { readFile } from 'node:fs/promises';
import { createLlmProposer, type ProposerPort } from '@ratchet/proposers';
import type { Client } from '../lease/client.ts';

export interface FoldingOptions {
  host: string;
  model: string;
  /** A program.md to use as the strategy; the track's own program.md otherwise. */
  strategyFile?: string;
  python: string;
  log: (msg: string) => void;
}

export function apiPort(client: Client): ProposerPort {
  return {
    async frontier(track) {
      const t = await client.tracks.get.query({ id: track });
      const files: Record<string, string> = {};
      for (const f of t.config.editable) {
        files[f] = (await client.tracks.file.query({ id: track, commit: t.head, path: f })).content;
      }
      return { head: t.head, editable: t.config.editable, files };
    },
    history: (track, limit) => client.proposals.history.query({ track, ...(limit ? { limit } : {}) }),
    async submit(input) {
      const r = await client.proposals.submit.mutate(input);
      return { id: r.proposal.id, created: r.created };
    },
    async countAnswer(answer) {
      await client.proposals.reportAnswer.mutate(answer);
    },
  };
}

export function createFoldingProposer(client: Client, o: FoldingOptions) {
  const port = apiPort(client);
  return {
    /** Propose once for `track`; returns the new proposal's id or null. */
    async proposeFor(track: string): Promise<string | null> {
      let programMd: string;
      let strategy: string;
      if (o.strategyFile) {
        programMd = await readFile(o.strategyFile, 'utf8');
        strategy = o.strategyFile.split(/[\\/]/).pop()!.replace(/\.md$/, '') || 'custom';
      } else {
        const t = await client.tracks.get.query({ id: track });
        programMd = await client.tracks.file
          .query({ id: track, commit: t.head, path: t.config.program ?? 'program.md' })
          .then((f) => f.content)
          .catch(() => `Improve ${track}'s val_bpb within its time budget.`);
        strategy = `${track}-program`;
      }
      const core = createLlmProposer(port, {
        track,
        strategy,
        programMd,
        host: o.host,
        model: o.model,
        python: o.python,
        keepAlive: 0,
        log: o.log,
      });
      return core.proposeOne();
    },
  };
}
