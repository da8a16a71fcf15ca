/** Building and closing a whole coordinator: Redis, frontier, queues, store, app. */
import { setMaxListeners } from 'node:events';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { compileCheck } from '@ratchet/proposers';
import { ErrorCodes, RatchetError, toError } from '@ratchet/shared';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { withAuthCache } from './auth/cache.ts';
import { createAuth, newToken } from './auth/tokens.ts';
import { recordMergeRuns } from './baselines/baseline-verify.ts';
import type { CoordinatorConfig } from './config.ts';
import { type Deps, systemClock } from './deps.ts';
import { createFrontier } from './frontier/repo.ts';
import { createTrackData } from './frontier/track-data.ts';
import { createMergeTrain } from './merge/merge-train.ts';
import { createMetrics } from './metrics/metrics.ts';
import { observeStore } from './metrics/observe.ts';
import { createMutationProposer } from './proposers/mutation-proposer.ts';
import { createOllamaProposer } from './proposers/ollama-proposer.ts';
import { classQueueName, createQueues, generalQueueName } from './queue/queues.ts';
import { onMerged } from './reports/portability.ts';
import { finishPendingOutcomes, reconcileAtStart } from './results/reconcile.ts';
import { createRedis } from './store/redis.ts';
import { createStatsStore } from './store/stats.ts';
import { createStore } from './store/store.ts';
import { readTrackProgram } from './tracks/track-program.ts';
import { addTrack, parseTrackFiles } from './tracks/tracks.ts';

export interface Coordinator {
  app: FastifyInstance;
  deps: Deps;
  adminToken: string;
  /** Listen; returns the base URL. */
  start(): Promise<string>;
  close(): Promise<void>;
}

const MAX_TRACK_FILE_BYTES = 4_000_000;
/**
 * Pending connections the kernel queues before accept (it caps this at net.core.somaxconn).
 * Node's default of 511 dropped connections when a thousand workers reconnected at once.
 */
export const LISTEN_BACKLOG = 65_535;

/** Read a track folder into a {relative path: text} map (skipping VCS and caches). */
export async function readTrackDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string) {
    for (const name of await readdir(d)) {
      if (name === '.git' || name === '__pycache__' || name === 'node_modules' || name.endsWith('.pyc'))
        continue;
      const full = join(d, name);
      const s = await stat(full);
      if (s.isDirectory()) await walk(full);
      else if (s.isFile()) {
        if (s.size > MAX_TRACK_FILE_BYTES) {
          throw new RatchetError(
            ErrorCodes.TRACK_INVALID,
            `${full} is larger than ${MAX_TRACK_FILE_BYTES} bytes`,
          );
        }
        out[relative(dir, full).split('\\').join('/')] = await readFile(full, 'utf8');
      }
    }
  }
  await walk(dir);
  return out;
}

async function resolveAdminToken(cfg: CoordinatorConfig): Promise<string> {
  if (cfg.adminToken) return cfg.adminToken;
  const file = join(cfg.dataDir, 'admin.token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const token = newToken('admin');
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return token;
  }
}

function pythonCheck(python: string) {
  return (path: string, source: string) =>
    path.endsWith('.py') ? compileCheck(python, source) : Promise.resolve(null);
}

/** What tests and benches may hook into (named protocol steps, see `Events.step`). */
export interface CoordinatorHooks {
  step?(name: string): void;
}

export async function createCoordinator(
  cfg: CoordinatorConfig,
  hooks: CoordinatorHooks = {},
): Promise<Coordinator> {
  await mkdir(cfg.dataDir, { recursive: true });
  const adminToken = await resolveAdminToken(cfg);
  const redis = createRedis(cfg.redisUrl);
  const bullRedis = createRedis(cfg.redisUrl, { forBullmq: true });
  try {
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    bullRedis.disconnect();
    throw new RatchetError(ErrorCodes.REDIS_UNAVAILABLE, `cannot reach Redis at ${cfg.redisUrl}`, {
      cause: e,
    });
  }
  const rawStore = createStore(redis, cfg.redisPrefix);
  const frontier = createFrontier({
    path: join(cfg.dataDir, 'frontier.git'),
    tmpDir: join(cfg.dataDir, 'tmp'),
    // A rebase that merged changes on neighbouring lines must still compile.
    ...(cfg.python ? { check: pythonCheck(cfg.python) } : {}),
  });
  await frontier.init();
  let metricsRef: ReturnType<typeof createMetrics> | null = null;
  const queues = createQueues(
    {
      connection: bullRedis,
      prefix: `${cfg.redisPrefix}:bull`,
      leaseTtlMs: cfg.leaseTtlMs,
      stalledIntervalMs: cfg.stalledIntervalMs,
    },
    { onStalled: () => metricsRef?.leaseExpiries.inc() },
  );
  const metrics = createMetrics({
    stats: createStatsStore(redis, cfg.redisPrefix),
    store: rawStore,
    queues,
    liveWindowMs: cfg.leaseTtlMs * 3,
  });
  metricsRef = metrics;
  // Every write also moves the metric aggregates, so /metrics never scans the history.
  const store = observeStore(rawStore, metrics.observer, metrics.instruments, () =>
    metrics.instruments.errors.inc(),
  );
  await metrics.observer.backfill().catch(() => metrics.instruments.errors.inc());
  const deps: Deps = {
    store,
    frontier,
    trackData: createTrackData(cfg.dataDir),
    queues,
    clock: systemClock,
    config: {
      leaseTtlMs: cfg.leaseTtlMs,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      acceptance: cfg.acceptance,
      patchMaxBytes: cfg.patchMaxBytes,
      seed: cfg.seed,
      rebaseOnLease: cfg.rebaseOnLease,
    },
    events: {
      experimentFinished: () => metricsRef?.finished.inc(),
      ...(hooks.step ? { step: hooks.step } : {}),
    },
    merge: createMergeTrain({
      frontier,
      store,
      clock: systemClock,
      onMerged: (note) => onMerged(deps, note),
      recordRuns: (track, commit, cls, runs) => recordMergeRuns(deps, track, commit, cls, runs),
    }),
  };
  const auth = withAuthCache(createAuth(store, adminToken));
  const shutdown = new AbortController();
  // Every waiting lease listens on it: a thousand at once is normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  const app = buildApp({
    deps,
    auth,
    metrics,
    signal: shutdown.signal,
    logLevel: cfg.logLevel,
    metricsToken: cfg.metricsToken,
  });

  // Before any stalled check runs: finish what a crash left half done, and take back the
  // locks of leases that lapsed while the coordinator was down (results/reconcile.ts).
  const swept = await reconcileAtStart(deps);
  if (swept.recorded + swept.requeued > 0) app.log.warn({ swept }, 'reconciled work left by a crash');
  // Outcomes whose completion died after acceptance, recorded once their claim has lapsed
  // (a claim lasts one TTL).
  const pendingTimer = setInterval(() => {
    void finishPendingOutcomes(deps, deps.clock.now()).catch(() => metrics.instruments.errors.inc());
  }, cfg.leaseTtlMs);
  pendingTimer.unref();

  // Re-import bundled tracks that are not known yet; resume the stalled checks of known queues.
  for (const dir of cfg.trackDirs) {
    const files = await readTrackDir(dir);
    const id = parseTrackFiles(files).id;
    if (!(await store.getTrack(id))) await addTrack(deps, files);
  }
  const classes = new Set((await store.listWorkers()).map((w) => w.hardwareClass));
  for (const t of await store.listTracks()) {
    queues.watch([generalQueueName(t.config.id), ...[...classes].map((c) => classQueueName(t.config.id, c))]);
  }

  // Built-in proposers named in the config.
  const proposers: { close(): void; start(): void }[] = [];
  for (const track of cfg.mutationTracks) {
    await store.requireTrack(track);
    proposers.push(createMutationProposer(deps, { track, python: cfg.python }));
  }
  for (const track of cfg.ollama.tracks) {
    const t = await store.requireTrack(track);
    const programMd = (await readTrackProgram(frontier, t)) ?? `Improve ${track}'s val_bpb.`;
    proposers.push(
      createOllamaProposer(deps, {
        track,
        strategy: `${track}-program`,
        programMd,
        host: cfg.ollama.host,
        model: cfg.ollama.model,
        temperature: cfg.ollama.temperature,
        ...(cfg.ollama.numCtx ? { numCtx: cfg.ollama.numCtx } : {}),
        keepAlive: cfg.ollama.keepAliveS,
        python: cfg.python,
      }),
    );
  }

  let closed: Promise<void> | null = null;
  return {
    app,
    deps,
    adminToken,
    async start() {
      const url = await app.listen({ host: cfg.host, port: cfg.port, backlog: LISTEN_BACKLOG });
      for (const p of proposers) p.start();
      return url;
    },
    close() {
      closed ??= (async () => {
        shutdown.abort();
        clearInterval(pendingTimer);
        for (const p of proposers) p.close();
        const errors: unknown[] = [];
        for (const step of [
          () => app.close(),
          () => queues.close(),
          () => redis.quit(),
          () => bullRedis.quit(),
        ]) {
          try {
            await step();
          } catch (e) {
            errors.push(e);
          }
        }
        if (errors.length > 0)
          throw new Error('coordinator close had errors', { cause: errors.map(toError) });
      })();
      return closed;
    },
  };
}
