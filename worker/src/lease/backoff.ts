/**
 * Retrying what failed for reasons outside the proposal: jittered exponential backoff
 * (a random wait between half and all of base·2^attempt, capped), so that workers that lost
 * the coordinator together do not all come back in the same instant.
 */
import { isRetryableCode } from '@ratchet/shared';

export function backoffMs(attempt: number, baseMs = 500, capMs = 10_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Transport failures (no code) and the catalogue's retryable codes; everything else is final. */
export function shouldRetry(code: string | null): boolean {
  return code === null || isRetryableCode(code);
}

/** Wait `ms`, or less if `signal` fires; never leaves a listener behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
