/** A real Prometheus (Debian's package) on a free loopback port, with its own storage dir. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/src/up/redis.ts';

export interface TestPrometheus {
  url: string;
  /** GET an API path (`/api/v1/query?...`) and return the parsed body. */
  api(path: string): Promise<{ status: string; error?: string; data: unknown }>;
  stop(): Promise<void>;
  output(): string;
}

export async function startPrometheus(o: {
  job: string;
  target: string;
  ruleFiles?: string[];
  scrapeIntervalS?: number;
  /** Scrape with `Authorization: Bearer <token>`, read from a file as a deployment would. */
  bearerToken?: string;
}): Promise<TestPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-prom-'));
  const port = await freePort();
  const every = `${o.scrapeIntervalS ?? 1}s`;
  if (o.bearerToken) await writeFile(join(dir, 'metrics.token'), o.bearerToken, { mode: 0o600 });
  const config = [
    'global:',
    `  scrape_interval: ${every}`,
    `  evaluation_interval: ${every}`,
    'rule_files:',
    ...(o.ruleFiles ?? []).map((f) => `  - ${JSON.stringify(f)}`),
    ...(o.ruleFiles?.length ? [] : ['  []']),
    'scrape_configs:',
    `  - job_name: ${o.job}`,
    ...(o.bearerToken
      ? [
          '    authorization:',
          '      type: Bearer',
          `      credentials_file: ${JSON.stringify(join(dir, 'metrics.token'))}`,
        ]
      : []),
    '    static_configs:',
    `      - targets: [${JSON.stringify(o.target)}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    output: () => out,
    stop,
    async api(path) {
      const r = await fetch(`${url}${path}`);
      return (await r.json()) as { status: string; error?: string; data: unknown };
    },
  };
}
