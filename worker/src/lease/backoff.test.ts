import { ErrorCodes } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { backoffMs, shouldRetry } from './backoff.ts';

describe('retrying the coordinator', () => {
  it('retries transport failures and the codes that say the moment is wrong, and nothing else', () => {
    expect(shouldRetry(null)).toBe(true);
    for (const code of [
      ErrorCodes.REDIS_UNAVAILABLE,
      ErrorCodes.INTERNAL,
      ErrorCodes.COORDINATOR_UNREACHABLE,
    ])
      expect(shouldRetry(code)).toBe(true);
    for (const code of [
      ErrorCodes.BAD_INPUT,
      ErrorCodes.LEASE_UNKNOWN,
      ErrorCodes.LEASE_LOST,
      ErrorCodes.UNAUTHENTICATED,
      ErrorCodes.FORBIDDEN,
    ])
      expect(shouldRetry(code)).toBe(false);
  });

  it('waits between half and all of an exponentially growing, capped interval', () => {
    expect(backoffMs(0, 500, 10_000, () => 0)).toBe(250);
    expect(backoffMs(0, 500, 10_000, () => 1)).toBe(500);
    expect(backoffMs(3, 500, 10_000, () => 0.5)).toBe(3000);
    expect(backoffMs(30, 500, 10_000, () => 1)).toBe(10_000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffMs(4, 500, 10_000)));
    expect(spread.size).toBeGreaterThan(10);
  });
});
