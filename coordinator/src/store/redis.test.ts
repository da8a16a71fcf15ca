import { ErrorCodes } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { clusterNodes } from './redis.ts';

describe('Redis Cluster settings', () => {
  it('reads the seed nodes of a redis+cluster:// URL', () => {
    expect(clusterNodes('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    expect(clusterNodes('redis://127.0.0.1:6379')).toBeNull();
  });

  it('accepts a hash-tagged prefix and refuses broken braces with CONFIG_INVALID', () => {
    const cfg = loadConfig({
      REDIS_URL: 'redis+cluster://127.0.0.1:7000',
      RATCHET_REDIS_PREFIX: '{ratchet}',
    });
    expect(cfg.redisPrefix).toBe('{ratchet}');
    for (const bad of ['{ratchet', 'rat}chet', '{}', 'a:b']) {
      expect(() => loadConfig({ RATCHET_REDIS_PREFIX: bad })).toThrow(
        expect.objectContaining({ code: ErrorCodes.CONFIG_INVALID }),
      );
    }
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(
      expect.objectContaining({ code: ErrorCodes.CONFIG_INVALID }),
    );
  });
});
