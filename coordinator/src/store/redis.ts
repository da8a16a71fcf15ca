/** The one place that constructs Redis connections for the coordinator. */
import { Cluster, Redis } from 'ioredis';

export type { Redis };

/**
 * `redis://` or `rediss://` for one server (or Sentinel-fronted proxy);
 * `redis+cluster://host:port,host:port` for a Redis Cluster, reached through those seed
 * nodes. On a cluster every key of a coordinator must hash to one slot (its multi-key
 * transactions and BullMQ's scripts need that): give it a prefix in braces, `{ratchet}`.
 */
export const CLUSTER_SCHEME = 'redis+cluster://';

export function clusterNodes(url: string): { host: string; port: number }[] | null {
  if (!url.startsWith(CLUSTER_SCHEME)) return null;
  return url
    .slice(CLUSTER_SCHEME.length)
    .replace(/\/.*$/, '')
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
}

export function createRedis(url: string, opts: { forBullmq?: boolean } = {}): Redis {
  const options = {
    // BullMQ needs blocking-safe connections; the store wants fast failure instead of hanging.
    maxRetriesPerRequest: opts.forBullmq ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
  const nodes = clusterNodes(url);
  if (nodes) {
    // A Cluster speaks the same commands; only the connection differs.
    return new Cluster(nodes, { redisOptions: options, enableOfflineQueue: true }) as unknown as Redis;
  }
  return new Redis(url, options);
}
