/** Coordinator configuration from the environment. A bad config fails with every problem listed. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { z } from 'zod';
import { type AcceptanceConfig, DEFAULT_ACCEPTANCE } from './pipeline/stats.ts';

const int = (def: number) => z.coerce.number().int().positive().default(def);

const Env = z.object({
  RATCHET_DATA_DIR: z.string().min(1).optional(),
  REDIS_URL: z
    .string()
    .regex(/^(rediss?|redis\+cluster):\/\//, 'must be a redis://, rediss:// or redis+cluster:// URL')
    .default('redis://127.0.0.1:6379'),
  RATCHET_REDIS_PREFIX: z
    .string()
    // Braces make a Redis Cluster hash tag: `{ratchet}` keeps every key in one slot.
    .regex(/^(\{[A-Za-z0-9_.-]{1,62}\}|[A-Za-z0-9_.-]{1,64})$/)
    .default('ratchet'),
  RATCHET_HOST: z.string().min(1).default('127.0.0.1'),
  RATCHET_PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  RATCHET_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** When set, /metrics answers only `Authorization: Bearer <this>`. */
  RATCHET_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  RATCHET_LEASE_TTL_MS: int(60_000).pipe(z.number().min(1_000, 'at least 1000 ms')),
  RATCHET_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  RATCHET_STALLED_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  RATCHET_MIN_MARGIN: z.coerce.number().min(0).max(1).default(DEFAULT_ACCEPTANCE.marginFloor),
  RATCHET_NOISE_K: z.coerce.number().positive().max(20).default(DEFAULT_ACCEPTANCE.screenK),
  RATCHET_ALPHA: z.coerce.number().gt(0).lt(0.5).default(DEFAULT_ACCEPTANCE.alpha),
  RATCHET_REVERIFY_ALPHA: z.coerce.number().gt(0).lt(0.5).default(DEFAULT_ACCEPTANCE.reverifyAlpha),
  RATCHET_SIGMA_FLOOR: z.coerce.number().min(0).max(1).default(DEFAULT_ACCEPTANCE.sigmaFloor),
  RATCHET_MAX_REPLICATES: z.coerce.number().int().min(2).max(20).default(DEFAULT_ACCEPTANCE.maxReplicates),
  RATCHET_BASELINE_RUNS: z.coerce
    .number()
    .int()
    .min(2)
    .max(20)
    .default(DEFAULT_ACCEPTANCE.minBaselineSamples),
  RATCHET_TRUST_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(DEFAULT_ACCEPTANCE.trustThreshold),
  RATCHET_PATCH_MAX_BYTES: int(256 * 1024),
  RATCHET_SEED: z.coerce.number().int().min(0).default(42),
  /** Comma-separated track folders imported at start when not yet known. */
  RATCHET_TRACKS: z.string().default(''),
  /** Built-in proposers: comma-separated track ids for each. */
  RATCHET_MUTATION_TRACKS: z.string().default(''),
  RATCHET_OLLAMA_TRACKS: z.string().default(''),
  OLLAMA_HOST: z.string().default('http://127.0.0.1:11434'),
  RATCHET_OLLAMA_MODEL: z.string().min(1).default('qwen2.5:0.5b'),
  RATCHET_OLLAMA_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
  RATCHET_OLLAMA_NUM_CTX: z.coerce.number().int().positive().optional(),
  /** Seconds Ollama keeps the model loaded; 0 when it shares the machine with a training worker. */
  RATCHET_OLLAMA_KEEP_ALIVE_S: z.coerce.number().int().min(0).default(0),
  RATCHET_PYTHON: z.string().optional(),
  RATCHET_REBASE_ON_LEASE: z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'], { message: 'must be 1/0, true/false or yes/no' })
    .default('1')
    .transform((v) => v === '1' || v === 'true' || v === 'yes'),
  RATCHET_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface CoordinatorConfig {
  dataDir: string;
  redisUrl: string;
  redisPrefix: string;
  host: string;
  port: number;
  adminToken: string | null;
  metricsToken: string | null;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  stalledIntervalMs: number;
  acceptance: AcceptanceConfig;
  patchMaxBytes: number;
  seed: number;
  trackDirs: string[];
  logLevel: z.infer<typeof Env>['RATCHET_LOG_LEVEL'];
  mutationTracks: string[];
  ollama: {
    tracks: string[];
    host: string;
    model: string;
    temperature: number;
    numCtx: number | null;
    keepAliveS: number;
  };
  python: string | null;
  /** A queued screen whose base fell behind the head is rebased onto the head when leased. */
  rebaseOnLease: boolean;
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'ratchet');
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function loadConfig(env: NodeJS.ProcessEnv): CoordinatorConfig {
  const r = Env.safeParse(env);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new RatchetError(ErrorCodes.CONFIG_INVALID, `invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const e = r.data;
  const ttl = e.RATCHET_LEASE_TTL_MS;
  return {
    dataDir: e.RATCHET_DATA_DIR ?? defaultDataDir(env),
    redisUrl: e.REDIS_URL,
    redisPrefix: e.RATCHET_REDIS_PREFIX,
    host: e.RATCHET_HOST,
    port: e.RATCHET_PORT,
    adminToken: e.RATCHET_ADMIN_TOKEN ?? null,
    metricsToken: e.RATCHET_METRICS_TOKEN ?? null,
    leaseTtlMs: ttl,
    // Four heartbeats per TTL: one lost request never loses a lease.
    heartbeatIntervalMs: e.RATCHET_HEARTBEAT_INTERVAL_MS ?? Math.max(250, Math.floor(ttl / 4)),
    // A job's lock lasts the TTL less one interval (queue/queues.ts `lockMs`), so that a dead
    // worker's job is back within the TTL: a quarter TTL leaves three heartbeats per lock.
    stalledIntervalMs: e.RATCHET_STALLED_INTERVAL_MS ?? Math.min(15_000, Math.max(250, Math.floor(ttl / 4))),
    acceptance: {
      ...DEFAULT_ACCEPTANCE,
      marginFloor: e.RATCHET_MIN_MARGIN,
      screenK: e.RATCHET_NOISE_K,
      alpha: e.RATCHET_ALPHA,
      reverifyAlpha: e.RATCHET_REVERIFY_ALPHA,
      sigmaFloor: e.RATCHET_SIGMA_FLOOR,
      maxReplicates: e.RATCHET_MAX_REPLICATES,
      minBaselineSamples: e.RATCHET_BASELINE_RUNS,
      trustThreshold: e.RATCHET_TRUST_THRESHOLD,
    },
    patchMaxBytes: e.RATCHET_PATCH_MAX_BYTES,
    seed: e.RATCHET_SEED,
    trackDirs: list(e.RATCHET_TRACKS),
    logLevel: e.RATCHET_LOG_LEVEL,
    mutationTracks: list(e.RATCHET_MUTATION_TRACKS),
    ollama: {
      tracks: list(e.RATCHET_OLLAMA_TRACKS),
      host: /^https?:\/\//.test(e.OLLAMA_HOST) ? e.OLLAMA_HOST : `http://${e.OLLAMA_HOST}`,
      model: e.RATCHET_OLLAMA_MODEL,
      temperature: e.RATCHET_OLLAMA_TEMPERATURE,
      numCtx: e.RATCHET_OLLAMA_NUM_CTX ?? null,
      keepAliveS: e.RATCHET_OLLAMA_KEEP_ALIVE_S,
    },
    python: e.RATCHET_PYTHON ?? null,
    rebaseOnLease: e.RATCHET_REBASE_ON_LEASE,
  };
}
