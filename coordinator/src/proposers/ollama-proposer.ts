/**
 * The Ollama proposer: asks a local LLM (npm `ollama`, structured output through `format`)
 * for search/replace edits, applies them itself, compile-checks the result, turns it into a
 * patch and submits it. Invalid answers are retried a bounded number of times and counted
 * per strategy. `keepAlive: 0` unloads the model after each answer, so a training worker on
 * the same machine gets the memory back.
 */
import { ErrorCodes, RatchetError, toError } from '@ratchet/shared';
import { Ollama } from 'ollama';
import { z } from 'zod';
import type { Deps } from '../service/deps.ts';
import { submitProposal } from '../service/proposals.ts';
import { unifiedDiff } from './constants.ts';
import { applyEdits, LlmAnswer } from './edits.ts';
import { compileCheck } from './mutation-proposer.ts';
import { buildMessages, type PromptHistoryItem } from './prompt.ts';

export interface OllamaProposerOptions {
  track: string;
  /** Strategy name and its program.md text. */
  strategy: string;
  programMd: string;
  host: string;
  model: string;
  temperature?: number;
  numCtx?: number;
  keepAlive?: number | string;
  stream?: boolean;
  /** Answers tried per proposal before giving up. */
  maxAttempts?: number;
  python: string | null;
  perWorker?: number;
  intervalMs?: number;
  log?: (msg: string) => void;
}

const ANSWER_SCHEMA = z.toJSONSchema(LlmAnswer);
const OPEN = new Set(['queued', 'running', 'awaiting_baseline', 'confirming', 'reverify']);

export function createOllamaProposer(deps: Deps, o: OllamaProposerOptions) {
  const client = new Ollama({ host: o.host });
  const proposer = `ollama:${o.model}`;
  const log = o.log ?? (() => {});
  let timer: NodeJS.Timeout | null = null;
  let busy = false;

  async function ask(messages: ReturnType<typeof buildMessages>): Promise<string> {
    const options = { temperature: o.temperature ?? 0.7, ...(o.numCtx ? { num_ctx: o.numCtx } : {}) };
    const base = { model: o.model, messages, format: ANSWER_SCHEMA, options, keep_alive: o.keepAlive ?? 0 };
    try {
      if (o.stream) {
        let text = '';
        for await (const part of await client.chat({ ...base, stream: true })) text += part.message.content;
        return text;
      }
      return (await client.chat({ ...base, stream: false })).message.content;
    } catch (e) {
      throw new RatchetError(ErrorCodes.LLM_UNAVAILABLE, `ollama at ${o.host}: ${toError(e).message}`, {
        cause: e,
      });
    }
  }

  async function history(): Promise<{ items: PromptHistoryItem[]; inFlight: string[]; open: number }> {
    const ps = await deps.store.listProposals(o.track, 200);
    const items: PromptHistoryItem[] = [];
    const inFlight: string[] = [];
    for (const p of ps) {
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
    return { items: items.slice(0, 60), inFlight, open: inFlight.length };
  }

  /** One proposal: returns its id, or null after maxAttempts invalid answers. */
  async function proposeOne(): Promise<string | null> {
    const track = await deps.store.requireTrack(o.track);
    const head = (await deps.frontier.head(o.track)) ?? track.head;
    const files: Record<string, string> = {};
    for (const f of track.config.editable) files[f] = await deps.frontier.readFile(head, f);
    const h = await history();
    const messages = buildMessages({ programMd: o.programMd, files, history: h.items, inFlight: h.inFlight });
    for (let attempt = 1; attempt <= (o.maxAttempts ?? 3); attempt++) {
      const raw = await ask(messages);
      await deps.store.incrCounter(`answers:${o.strategy}`);
      const invalid = async (code: string, message: string) => {
        await deps.store.incrCounter(`invalid:${o.strategy}`);
        await deps.store.incrCounter(`invalid:${o.strategy}:${code}`);
        log(`answer ${attempt} invalid (${code}): ${message}`);
      };
      let answer: LlmAnswer;
      try {
        answer = LlmAnswer.parse(JSON.parse(raw));
      } catch (e) {
        await invalid(ErrorCodes.LLM_INVALID_ANSWER, toError(e).message.slice(0, 200));
        continue;
      }
      const r = applyEdits(files, track.config.editable, answer);
      if (!r.ok) {
        await invalid(r.code, r.message);
        continue;
      }
      if (o.python) {
        const bad = (
          await Promise.all(
            r.changed.filter((f) => f.endsWith('.py')).map((f) => compileCheck(o.python!, r.files[f]!)),
          )
        ).find((x) => x !== null);
        if (bad) {
          await invalid(ErrorCodes.EDIT_DOES_NOT_COMPILE, bad);
          continue;
        }
      }
      const patch = r.changed.map((f) => unifiedDiff(f, files[f]!, r.files[f]!)).join('');
      try {
        const s = await submitProposal(deps, {
          track: o.track,
          base: head,
          patch,
          description: answer.description,
          proposer,
          strategy: o.strategy,
        });
        if (!s.created) {
          await invalid(ErrorCodes.PATCH_DUPLICATE, 'the same patch was already proposed on this base');
          continue;
        }
        return s.proposal.id;
      } catch (e) {
        const code = e instanceof RatchetError ? e.code : ErrorCodes.INTERNAL;
        await invalid(code, toError(e).message.slice(0, 200));
      }
    }
    return null;
  }

  async function tick(): Promise<number> {
    const now = deps.clock.now();
    const live = (await deps.store.listWorkers()).filter(
      (w) => now - w.lastSeenAt < deps.config.leaseTtlMs * 3,
    );
    const target = (o.perWorker ?? 2) * Math.max(1, live.length);
    let open = (await history()).open;
    let made = 0;
    while (open < target) {
      if (!(await proposeOne())) break;
      open++;
      made++;
    }
    return made;
  }

  return {
    proposeOne,
    tick,
    start() {
      const run = async () => {
        if (busy) return;
        busy = true;
        try {
          await tick();
        } catch (e) {
          log(`ollama proposer: ${toError(e).message}`);
        } finally {
          busy = false;
        }
      };
      void run();
      timer = setInterval(run, o.intervalMs ?? 5_000);
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
