/** The one place that constructs Redis connections for the coordinator. */
import { Redis } from 'ioredis';

export type { Redis };

export function createRedis(url: string, opts: { forBullmq?: boolean } = {}): Redis {
  return new Redis(url, {
    // BullMQ needs blocking-safe connections; the store wants fast failure instead of hanging.
    maxRetriesPerRequest: opts.forBullmq ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
}
