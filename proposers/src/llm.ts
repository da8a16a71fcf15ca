/**
 * An LLM proposer's core, independent of where it runs: inside the coordinator (with direct
 * access to the store) or on a volunteer's worker in folding mode (through the API). It asks
 * an Ollama server for search/replace edits in structured output, applies them itself,
 * compile-checks the result, and submits the patch; invalid answers are retried a bounded
 * number of times and reported.
 */
import { ErrorCodes, RatchetError, toError } from '@ratchet/shared';
import { Ollama } from 'ollama';
import { z } from 'zod';
import { compileCheck } from './compile.ts';
import { unifiedDiff } from './constants.ts';
import { applyEdits, LlmAnswer } from './edits.ts';
import type { ProposerPort } from './port.ts';
import { buildMessages } from './prompt.ts';

export interface LlmProposerOptions {
  track: string;
  strategy: string;
  programMd: string;
  host: string;
  model: string;
  temperature?: number;
  numCtx?: number;
  /** 0 unloads the model after each answer (the machine also trains). */
  keepAlive?: number | string;
  stream?: boolean;
  maxAttempts?: number;
  python: string | null;
  log?: (msg: string) => void;
}

const ANSWER_SCHEMA = z.toJSONSchema(LlmAnswer);

export function createLlmProposer(port: ProposerPort, o: LlmProposerOptions) {
  const client = new Ollama({ host: o.host });
  const proposer = `ollama:${o.model}`;
  const log = o.log ?? (() => {});

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

  /** One proposal: its id, or null after maxAttempts invalid answers. */
  async function proposeOne(): Promise<string | null> {
    const { head, editable, files } = await port.frontier(o.track);
    const h = await port.history(o.track);
    const messages = buildMessages({ programMd: o.programMd, files, history: h.items, inFlight: h.inFlight });
    for (let attempt = 1; attempt <= (o.maxAttempts ?? 3); attempt++) {
      const raw = await ask(messages);
      const invalid = async (code: string, message: string) => {
        await port.countAnswer({ track: o.track, strategy: o.strategy, proposer, invalidCode: code });
        log(`answer ${attempt} invalid (${code}): ${message}`);
      };
      let answer: LlmAnswer;
      try {
        answer = LlmAnswer.parse(JSON.parse(raw));
      } catch (e) {
        await invalid(ErrorCodes.LLM_INVALID_ANSWER, toError(e).message.slice(0, 200));
        continue;
      }
      const r = applyEdits(files, editable, answer);
      if (!r.ok) {
        await invalid(r.code, r.message);
        continue;
      }
      if (o.python) {
        const checks = r.changed
          .filter((f) => f.endsWith('.py'))
          .map((f) => compileCheck(o.python!, r.files[f]!));
        const bad = (await Promise.all(checks)).find((x) => x !== null);
        if (bad) {
          await invalid(ErrorCodes.EDIT_DOES_NOT_COMPILE, bad);
          continue;
        }
      }
      const patch = r.changed.map((f) => unifiedDiff(f, files[f]!, r.files[f]!)).join('');
      try {
        const s = await port.submit({
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
        await port.countAnswer({ track: o.track, strategy: o.strategy, proposer, invalidCode: null });
        return s.id;
      } catch (e) {
        const code =
          e instanceof RatchetError
            ? e.code
            : ((e as { data?: { ratchetCode?: string } }).data?.ratchetCode ?? ErrorCodes.INTERNAL);
        await invalid(code, toError(e).message.slice(0, 200));
      }
    }
    return null;
  }

  return { proposeOne };
}
