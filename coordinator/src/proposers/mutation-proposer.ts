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
  /** Proposals to keep queued per active worker (default 2). */
  perWorker?: number;
  /** Interpreter for compile checks; null skips them. */
  python: string | null;
  intervalMs?: number;
  random?: () => number;
  log?: (msg: string) => void;
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
    const made = await core.fill((opts.perWorker ?? 2) * (await liveWorkers(deps)));
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
