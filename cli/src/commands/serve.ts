/** Long-running commands: coordinator and worker, with graceful then forced shutdown. */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { createSerial, createWorkerAgent, killRunningChildren, pythonCandidates } from '@ratchet/worker';
import { parse, required } from '../args.ts';
import { createProgressView } from '../progress/view.ts';
import { coordinatorUrl, resolveTokenSource } from '../remote.ts';
import { findTorchPython } from '../up/python.ts';
import { foldingOptions, foldingPrefsFrom, sandboxLimitsFrom, WORKER_HELP } from './worker-options.ts';
import { parseBackends, parseHardwareClass, slotWorkDir, workerSlots } from './worker-slots.ts';

/** First signal: graceful `close()`; second: exit at once. */
export function onSignals(close: () => Promise<void> | void, force: () => void) {
  let count = 0;
  const handler = () => {
    count++;
    if (count === 1) void close();
    else force();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export async function coordinatorCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    track: { type: 'string', multiple: true },
  });
  const env = { ...process.env };
  if (values.port) env.RATCHET_PORT = values.port;
  if (values.host) env.RATCHET_HOST = values.host;
  if (values['data-dir']) env.RATCHET_DATA_DIR = resolve(values['data-dir']);
  if (values.track)
    env.RATCHET_TRACKS = [env.RATCHET_TRACKS ?? '', ...values.track.map((t) => resolve(t))]
      .filter(Boolean)
      .join(',');
  // Loaded here only: a worker never pays for the coordinator's modules (Fastify, BullMQ).
  const { createCoordinator, loadConfig } = await import('@ratchet/coordinator');
  const cfg = loadConfig(env);
  const c = await createCoordinator(cfg);
  const url = await c.start();
  process.stdout.write(`ratchet coordinator listening on ${url}\n`);
  process.stdout.write(`dashboard: ${url}/ (a read-only token: ratchet token create --role viewer)\n`);
  process.stdout.write(
    `admin token: ${cfg.adminToken ? '(from RATCHET_ADMIN_TOKEN)' : join(cfg.dataDir, 'admin.token')}\n`,
  );
  await new Promise<void>((done) => {
    onSignals(
      async () => {
        process.stdout.write('stopping coordinator…\n');
        await c.close().catch(() => {});
        done();
      },
      () => process.exit(130),
    );
  });
  return 0;
}

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    coordinator: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    once: { type: 'boolean', default: false },
    python: { type: 'string' },
    workdir: { type: 'string' },
    name: { type: 'string' },
    backend: { type: 'string' },
    'hardware-class': { type: 'string' },
    track: { type: 'string', multiple: true },
    'low-priority': { type: 'boolean', default: false },
    'propose-with-ollama': { type: 'boolean', default: false },
    'ollama-host': { type: 'string' },
    'ollama-model': { type: 'string' },
    'strategy-file': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
    ...foldingOptions,
  });
  if (values.help) {
    process.stdout.write(WORKER_HELP);
    return 0;
  }
  const folding = foldingPrefsFrom(values);
  const sandbox = sandboxLimitsFrom(values);
  const token = resolveTokenSource({ token: values.token, tokenFile: values['token-file'] }, (m) =>
    process.stderr.write(`[worker] warning: ${m}\n`),
  );
  if (!token) throw new RatchetError(ErrorCodes.BAD_INPUT, 'missing --token-file FILE (or RATCHET_TOKEN)');
  const backends = parseBackends(values.backend);
  const hardwareClass = parseHardwareClass(values['hardware-class'] ?? process.env.RATCHET_HARDWARE_CLASS);
  const name = values.name ?? `${hostname()}-${process.pid}`;
  const python =
    values.python ??
    process.env.RATCHET_PYTHON ??
    findTorchPython(undefined)?.python ??
    pythonCandidates(process.platform)[0]!;
  // One slot per GPU: each leases its own jobs, pinned to its device.
  const slots = await workerSlots({ name, backends });
  const serial = createSerial();
  const view = createProgressView({ stream: process.stderr });
  const agents = slots.map((slot) =>
    createWorkerAgent({
      coordinatorUrl: coordinatorUrl(values.coordinator),
      token,
      name: slot.name,
      python,
      workDir: slotWorkDir(values.workdir, slot, slots.length, name),
      once: values.once,
      profile: slot.profile,
      extraEnv: slot.env,
      serial,
      log: (m: string) => view.log(slots.length > 1 ? `[worker ${slot.name}] ${m}` : `[worker] ${m}`),
      onJob: (e) => view.onJob(slot.name, e),
      ...(hardwareClass ? { hardwareClass } : {}),
      tracks: values.track ?? [],
      lowPriority: values['low-priority'] || folding !== null,
      ...(folding ? { folding } : {}),
      ...(sandbox ? { sandbox } : {}),
      ...(values['propose-with-ollama']
        ? {
            proposeWithOllama: {
              host: values['ollama-host'] ?? process.env.OLLAMA_HOST ?? 'http://127.0.0.1:11434',
              model: values['ollama-model'] ?? process.env.RATCHET_OLLAMA_MODEL ?? 'qwen2.5:0.5b',
              ...(values['strategy-file'] ? { strategyFile: resolve(values['strategy-file']) } : {}),
            },
          }
        : {}),
    }),
  );
  onSignals(
    () => {
      process.stderr.write(
        '[worker] stopping: no new jobs; the running one is given back (Ctrl-C again to force)\n',
      );
      for (const a of agents) a.stop();
    },
    () => {
      killRunningChildren();
      process.exit(130);
    },
  );
  try {
    await Promise.all(
      agents.map((a) =>
        a.run().catch((e) => {
          for (const b of agents) b.stop();
          throw e;
        }),
      ),
    );
  } finally {
    view.stop();
  }
  return 0;
}

export { required };
