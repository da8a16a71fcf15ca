/**
 * Failures of the machinery around a run (fetching the base commit, track data, the prepare
 * cache's files), as opposed to the run's own. They are retried here with backoff; if they
 * persist, the job is given back to the queue: a proposal is never charged with them.
 */
import { toError } from '@ratchet/shared';
import { backoffMs, sleep } from '../lease/backoff.ts';

export class InfraError extends Error {
  constructor(
    /** Where it failed: `checkout`, `track data`, `prepare cache`. */
    readonly stage: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`${stage}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'InfraError';
  }
}

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  capMs: number;
}

/** About 15 s of trying in all: well inside a lease, which heartbeats keep meanwhile. */
export const INFRA_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, capMs: 8_000 };

/** `fn`, tried up to `policy.attempts` times; the last failure becomes an InfraError. */
export async function withInfraRetry<T>(
  stage: string,
  fn: () => Promise<T>,
  policy: RetryPolicy = INFRA_RETRY,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt + 1 >= policy.attempts || signal?.aborted) {
        throw new InfraError(stage, toError(e).message.trim().slice(0, 300), { cause: e });
      }
      await sleep(backoffMs(attempt, policy.baseMs, policy.capMs), signal);
    }
  }
}
