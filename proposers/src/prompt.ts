/** The prompt of an LLM proposer: strategy, frontier files, the shared research history. Pure. */
export interface PromptHistoryItem {
  description: string;
  status: string;
  hardwareClass: string | null;
  delta: number | null;
  proposer: string;
  crashTail: string | null;
  /** The commit it was proposed on (or last rebased onto). */
  base?: string;
}

export interface PromptInput {
  programMd: string;
  files: Record<string, string>;
  history: readonly PromptHistoryItem[];
  inFlight: readonly { description: string }[];
}

const ANSWER_RULES = `Answer with JSON only: {"description": "...", "edits": [{"file": "...", "search": "...", "replace": "..."}]}.
- description: one short line saying what the change is and why.
- Each search text is copied exactly from the current file and must occur there exactly once.
- Edit only the editable files shown below. Keep the output format of the training script.
- Propose one idea that is not in the history below and not in flight.`;

export function buildMessages(p: PromptInput): { role: 'system' | 'user'; content: string }[] {
  const files = Object.entries(p.files)
    .map(([name, text]) => `### ${name}\n\`\`\`python\n${text}\n\`\`\``)
    .join('\n\n');
  const fmt = (h: PromptHistoryItem) => {
    const d = h.delta === null ? '' : ` Δ ${(h.delta >= 0 ? '+' : '') + h.delta.toFixed(6)}`;
    const cls = h.hardwareClass ? ` on ${h.hardwareClass}` : '';
    const crash = h.crashTail
      ? `\n    crash: ${h.crashTail.split('\n').slice(-3).join(' | ').slice(0, 300)}`
      : '';
    return `- [${h.status}]${d}${cls} ${h.description} (by ${h.proposer})${crash}`;
  };
  const history = p.history.length ? p.history.map(fmt).join('\n') : '(nothing yet)';
  const inFlight = p.inFlight.length ? p.inFlight.map((d) => `- ${d.description}`).join('\n') : '(nothing)';
  return [
    { role: 'system', content: `${p.programMd.trim()}\n\n${ANSWER_RULES}` },
    {
      role: 'user',
      content: `## The frontier's editable files\n\n${files}\n\n## Research history (kept, discarded, crashed; all hardware classes)\n${history}\n\n## In flight now\n${inFlight}\n\nPropose the next experiment.`,
    },
  ];
}
