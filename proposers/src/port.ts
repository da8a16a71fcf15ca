/**
 * The one port every proposer speaks, wherever it runs: inside the coordinator (direct
 * access to the store) or on a volunteer's worker (through the API). The LLM proposer
 * (`llm.ts`) and the mutation proposer (`mutation-proposer.ts`) read the frontier and the
 * shared history, submit patches and count their answers through it alone.
 */
import type { PromptHistoryItem } from './prompt.ts';

/** A proposal still open (queued, running, confirming, …; see OPEN_PROPOSAL_STATUSES). */
export interface InFlightItem {
  description: string;
  status: string;
  /** The commit it was proposed on (or rebased onto). */
  base: string;
}

/** The shared research history of a track, newest first. */
export interface ProposerHistory {
  /** Ended proposals (kept, discarded, crashed, …), at most the asked limit. */
  items: PromptHistoryItem[];
  inFlight: InFlightItem[];
}

/** One answer of a proposer: valid (invalidCode null) or refused with a stable code. */
export interface AnswerReport {
  track: string;
  strategy: string;
  proposer: string;
  invalidCode: string | null;
}

/** What a proposer needs from the system it proposes to. */
export interface ProposerPort {
  frontier(track: string): Promise<{ head: string; editable: string[]; files: Record<string, string> }>;
  /** `limit`: most ended proposals to return (default 60, what a prompt holds). */
  history(track: string, limit?: number): Promise<ProposerHistory>;
  submit(input: {
    track: string;
    base: string;
    patch: string;
    description: string;
    proposer: string;
    strategy: string;
  }): Promise<{ id: string; created: boolean }>;
  /** Count an answer of this proposer; `invalidCode` when it was rejected. */
  countAnswer(answer: AnswerReport): Promise<void>;
}
