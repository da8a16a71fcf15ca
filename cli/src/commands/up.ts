/**
 * `ratchet up`: the whole system on one machine — Redis, the coordinator with the built-in
 * track that fits the machine (`tiny` on a GPU or Apple silicon, `tiny-cpu` on CPUs alone),
 * one worker per local device and the mutation proposer — with a live line per finished
 * experiment and what the pipeline waits for. Ctrl-C stops everything it started; running
 * it again resumes the same frontier from the data dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  addTrack,
  createAuth,
  createCoordinator,
  createMutationProposer,
  createOllamaProposer,
  loadConfig,
  pooledNoise,
  readTrackDir,
} from '@ratchet/coordinator';
import { defaultDataDir } from '@ratchet/coordinator/config';
import { ErrorCodes, type Experiment, type Proposal, RatchetError, toError } from '@ratchet/shared';
import { createWorkerAgent, killRunningChildren, parseNvidiaSmi } from '@ratchet/worker';
import { parse } from '../args.ts';
import { createProgressView } from '../progress/view.ts';
import { explainBaseline, explainCandidate } from '../up/explain.ts';
import { findTorchPython, INSTALL_TORCH } from '../up/python.ts';
import { startRedis } from '../up/redis.ts';
import { experimentLine, frontierLine } from '../up/report.ts';
import { dashboardUrl, viewerToken } from '../up/viewer.ts';
import { onSignals } from './serve.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
/** Where lines go: straight to stdout, or above the live progress bars once they are drawn. */
let sink: ((s: string) => void) | null = null;
function say(s: string) {
  if (sink) sink(s);
  else process.stdout.write(`${s}\n`);
}

/** One worker per local device: each NVIDIA GPU, else the CPU (Apple: the MPS device). */
function localDevices(): { name: string; env: Record<string, string> }[] {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'], {
    encoding: 'utf8',
  });
  const gpus = smi.status === 0 ? parseNvidiaSmi(smi.stdout) : [];
  if (gpus.length > 0)
    return gpus.map((_g, i) => ({ name: `gpu${i}`, env: { CUDA_VISIBLE_DEVICES: String(i) } }));
  return [{ name: process.platform === 'darwin' && process.arch === 'arm64' ? 'mps' : 'cpu', env: {} }];
}

async function ollamaNote(): Promise<string | null> {
  const host = process.env.OLLAMA_HOST;
  if (!host) return null;
  const url = /^https?:\/\//.test(host) ? host : `http://${host}`;
  try {
    const r = await fetch(`${url.replace(/\/+$/, '')}/api/version`, { signal: AbortSignal.timeout(1_500) });
    if (r.ok) return `Ollama is reachable at ${url}; use --proposer ollama to propose with it.`;
  } catch {
    // not reachable
  }
  return `OLLAMA_HOST is set (${url}) but no Ollama server answers there.`;
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    budget: { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    python: { type: 'string' },
    proposer: { type: 'string' },
    'track-dir': { type: 'string' },
  });
  const proposerKind = values.proposer ?? 'mutation';
  if (proposerKind !== 'mutation' && proposerKind !== 'ollama') {
    throw new RatchetError(ErrorCodes.BAD_INPUT, '--proposer must be mutation or ollama');
  }
  const budgetS = values.budget === undefined ? null : Number(values.budget);
  if (budgetS !== null && (!Number.isInteger(budgetS) || budgetS < 1 || budgetS > 86_400)) {
    throw new RatchetError(ErrorCodes.BAD_INPUT, '--budget must be a whole number of seconds (1..86400)');
  }
  // Signals first: a Ctrl-C during start-up still stops everything cleanly once it is up.
  let requestStop: () => void = () => {};
  const stopRequested = new Promise<void>((r) => {
    requestStop = r;
  });
  let redisChild: { kill(sig: NodeJS.Signals): void } | null = null;
  onSignals(
    () => requestStop(),
    () => {
      killRunningChildren();
      redisChild?.kill('SIGKILL');
      process.exit(130);
    },
  );
  const py = findTorchPython(values.python);
  if (!py) throw new RatchetError(ErrorCodes.BAD_INPUT, INSTALL_TORCH);
  const dataDir = resolve(values['data-dir'] ?? process.env.RATCHET_DATA_DIR ?? defaultDataDir(process.env));
  await mkdir(dataDir, { recursive: true });

  const redis = await startRedis(dataDir, process.env.REDIS_URL);
  redisChild = redis.child;
  const cfg = loadConfig({
    ...process.env,
    REDIS_URL: redis.url,
    RATCHET_DATA_DIR: dataDir,
    RATCHET_PORT: values.port ?? process.env.RATCHET_PORT ?? '8787',
    RATCHET_TRACKS: '',
    RATCHET_LOG_LEVEL: process.env.RATCHET_LOG_LEVEL ?? 'warn',
  });
  const coordinator = await createCoordinator(cfg).catch(async (e) => {
    await redis.stop();
    throw e;
  });
  const { deps } = coordinator;

  // A different budget is a different experiment: its numbers are not comparable with the
  // track's own budget, so it gets its own track (and branch).
  const devices = localDevices();
  // On CPUs alone, the track sized for them: about 900 steps of a fixed compute budget.
  const trackDir = resolve(
    values['track-dir'] ??
      resolve(ROOT, 'tracks', devices.some((d) => d.name !== 'cpu') ? 'tiny' : 'tiny-cpu'),
  );
  const files = await readTrackDir(trackDir);
  const conf = JSON.parse(files['ratchet.json'] ?? '{}') as {
    id?: string;
    budgetS?: number;
    hardTimeoutS?: number;
  };
  let trackId = conf.id ?? 'tiny';
  if (budgetS !== null && budgetS !== conf.budgetS) {
    trackId = `${trackId}-${budgetS}s`;
    files['ratchet.json'] = JSON.stringify(
      {
        ...conf,
        id: trackId,
        budgetS,
        hardTimeoutS: Math.max(120, conf.hardTimeoutS ?? 0, budgetS * 2 + 120),
      },
      null,
      2,
    );
  }
  if (!(await deps.store.getTrack(trackId))) await addTrack(deps, files);

  const url = await coordinator.start();
  say(`ratchet up — data in ${dataDir}`);
  say(`API and git: ${url}  (admin token: ${dataDir}/admin.token)`);
  say(`Redis: ${redis.child ? `private redis-server, AOF in ${dataDir}/redis` : redis.url}`);
  say(`track ${trackId}: ${budgetS ?? conf.budgetS} s budget; python ${py.python} (torch ${py.torch})`);
  const note = await ollamaNote();
  if (note) say(note);

  const auth = createAuth(deps.store, coordinator.adminToken);
  say(`dashboard: ${dashboardUrl(url, await viewerToken(auth, dataDir, Date.now()))}`);
  const view = createProgressView();
  sink = view.log;
  const workerToken = await auth.create('worker', 'local', true, Date.now());
  const agents = devices.map((d) =>
    createWorkerAgent({
      coordinatorUrl: url,
      token: workerToken,
      name: `local-${d.name}`,
      python: py.python,
      workDir: resolve(dataDir, 'worker', d.name),
      once: false,
      tracks: [trackId],
      lowPriority: false,
      extraEnv: d.env,
      log: () => {},
      onJob: (e) => view.onJob(`local-${d.name}`, e),
    }),
  );
  const proposer =
    proposerKind === 'ollama'
      ? createOllamaProposer(deps, {
          track: trackId,
          strategy: 'tiny-program',
          programMd: files['program.md'] ?? 'Improve val_bpb.',
          host: cfg.ollama.host,
          model: cfg.ollama.model,
          temperature: cfg.ollama.temperature,
          ...(cfg.ollama.numCtx ? { numCtx: cfg.ollama.numCtx } : {}),
          // The model shares this machine with the training worker: unload it after each answer.
          keepAlive: 0,
          python: py.python,
          log: (m) => say(`  (ollama) ${m}`),
        })
      : createMutationProposer(deps, {
          track: trackId,
          python: py.python,
          log: (m) => say(`  (proposer) ${m}`),
        });
  say(
    `proposer: ${proposerKind === 'ollama' ? `Ollama ${cfg.ollama.model} at ${cfg.ollama.host}` : 'mutation search (no LLM)'}`,
  );

  const acc = cfg.acceptance;
  const explain = async (e: Experiment, p: Proposal | null) => {
    if (e.kind !== 'baseline') return explainCandidate(e, p, acc);
    if (e.status !== 'ok' || !e.hardwareClass) return null;
    const noise = pooledNoise(await deps.store.baselineGroups(trackId, e.hardwareClass));
    const have = (await deps.store.getBaselineSamples(trackId, e.base, e.hardwareClass)).length;
    return explainBaseline({ have, sigma: noise.sigma, df: noise.df }, acc);
  };
  const printed = new Set<string>();
  for (const e of await deps.store.listExperiments(trackId)) if (e.recordedAt !== null) printed.add(e.id);
  const best = new Map<string, number>();
  let merged = 0;
  const report = async (quiet: boolean) => {
    const track = await deps.store.requireTrack(trackId);
    let changed = false;
    for (const e of await deps.store.listExperiments(trackId)) {
      if (e.recordedAt === null || (e.verdict === 'pending' && e.kind === 'candidate')) continue;
      if (e.metrics && e.hardwareClass && (e.verdict === 'baseline' || e.verdict === 'keep')) {
        const cur = best.get(e.hardwareClass);
        if (cur === undefined || e.metrics.val_bpb < cur) best.set(e.hardwareClass, e.metrics.val_bpb);
      }
      if (printed.has(e.id)) continue;
      printed.add(e.id);
      if (e.verdict === 'keep') merged++;
      changed = true;
      const p = e.proposalId ? await deps.store.getProposal(e.proposalId) : null;
      if (quiet) continue;
      say(experimentLine(e, p));
      const why = await explain(e, p);
      if (why) say(`  ${why}`);
    }
    if (changed || quiet) say(frontierLine(trackId, track.head, best, merged));
  };
  await report(true);
  const ticker = setInterval(() => void report(false).catch(() => {}), 1_000);

  proposer.start();
  const runs = agents.map((a) => a.run().catch((e) => say(`worker stopped: ${toError(e).message}`)));
  say(`${agents.length} worker(s) started; Ctrl-C stops everything.`);

  await stopRequested;
  say('stopping: the running experiment is given back to the queue…');
  clearInterval(ticker);
  proposer.close();
  for (const a of agents) a.stop();
  await Promise.allSettled(runs);
  view.stop();
  sink = null;
  await coordinator.close().catch(() => {});
  await redis.stop();
  say('stopped.');
  return 0;
}
