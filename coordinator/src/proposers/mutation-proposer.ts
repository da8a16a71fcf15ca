/**
 * The built-in mutation proposer as a coordinator component: keeps a track's queue at its
 * target depth with mutations of the frontier's editable file. Its core is
 * `@ratchet/proposers`' `createMutationCore`, speaking the same port as the Ollama proposer.
 */

import { createMutationCore } from '@ratchet/proposers';
import type { Deps } from '../deps.ts';
import { periodic } from './periodic.ts';
import { coordinatorPort, liveWorkers } from './port.ts';

export interface MutationProposerOptions {
  track: string;
  /** Proposals to keep open per active worker; default: `openTarget`. */
  perWorker?: number;
  /** Interpreter for compile checks; null skips them. */
  python: string | null;
  intervalMs?: number;
  random?: () => number;
  log?: (msg: string) => void;
}

/**
 * How many proposals to keep open with `workers` live workers: twice as many, but never
 * more than four beyond one each. Each open proposal is made blind to what the ones before it
 * find; at 16 workers twice as many (32 open) left the search a round behind its own results.
 * Research bench (upstream landscape, 3 trials each; docs/architecture.md): 16 workers at
 * 20 open, efficiency 0.68, 0.81, 0.81 (0.81, 0.83, 0.84 with a first form that also kept 5
 * open at 4 workers), against 0.72, 0.63, 0.85 at 32. Fewer at 4 workers did not pay: at 5
 * open, 0.55, 0.53, 0.61, against 0.78, 0.65, 0.77 at 8.
 */
export function openTarget(workers: number): number {
  return Math.min(2 * workers, workers + 4);
}

export function createMutationProposer(deps: Deps, opts: MutationProposerOptions) {
  const log = opts.log ?? (() => {});
  const core = createMutationCore(coordinatorPort(deps), {
    track: opts.track,
    python: opts.python,
    log,
    ...(opts.random ? { random: opts.random } : {}),
  });
  let submitted = 0;

  async function tick(): Promise<number> {
    const workers = await liveWorkers(deps);
    const made = await core.fill(
      opts.perWorker !== undefined ? opts.perWorker * workers : openTarget(workers),
    );
    submitted += made;
    return made;
  }

  return {
    /** One round: fill the queue to its target depth. Returns proposals made. */
    tick,
    get submitted() {
      return submitted;
    },
    ...periodic(tick, opts.intervalMs ?? 2_000, (m) => log(`mutation proposer: ${m}`)),
  };
}
