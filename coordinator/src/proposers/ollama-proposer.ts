/**
 * The Ollama proposer inside the coordinator: the LLM core of @ratchet/proposers on the
 * coordinator's proposer port (`port.ts`), keeping the track's queue at its target depth.
 */
import { createLlmProposer, type LlmProposerOptions } from '@ratchet/proposers';
import type { Deps } from '../deps.ts';
import { periodic } from './periodic.ts';
import { coordinatorPort, liveWorkers, trackHistory } from './port.ts';

export function createOllamaProposer(
  deps: Deps,
  o: LlmProposerOptions & { perWorker?: number; intervalMs?: number },
) {
  const core = createLlmProposer(coordinatorPort(deps), o);

  async function tick(): Promise<number> {
    const target = (o.perWorker ?? 2) * (await liveWorkers(deps));
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
