/**
 * docker-compose.yml and the Dockerfiles, checked without a Docker engine: Debian's
 * docker-compose validates the file against the Compose schema (`config -q`), the resolved
 * config is read back for what a lab relies on, the Dockerfiles agree with the repository
 * (pinned bases, non-root, versions, paths), and the images' entrypoint runs for real
 * against a live coordinator.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, startCoordinator, TSX_LOADER } from '../support/harness.ts';

const run = promisify(execFile);
const COMPOSE = join(ROOT, 'docker-compose.yml');
const DOCKERFILES = ['coordinator', 'worker-cpu', 'worker-cuda'].map((n) =>
  join(ROOT, 'deploy', 'docker', `${n}.Dockerfile`),
);
const ENTRYPOINT = join(ROOT, 'deploy', 'docker', 'entrypoint.sh');

// biome-ignore lint/suspicious/noExplicitAny: the resolved compose config, read loosely after schema validation
type Obj = any;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A service's mounts from the resolved config (short syntax `source:target:mode`, or long). */
function mounts(svc: Obj): { source: string; target: string; bind: boolean }[] {
  return (svc.volumes ?? []).map((v: Obj) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, bind: v.type === 'bind' };
    const [source = '', target = ''] = v.split(':');
    return { source, target, bind: source.startsWith('/') };
  });
}

async function resolved(...profile: string[]): Promise<Obj> {
  const { stdout } = await run('docker-compose', ['-f', COMPOSE, ...profile, 'config'], { cwd: ROOT });
  return parse(stdout);
}

describe('docker-compose.yml', () => {
  it('passes docker-compose config -q, with and without the gpu profile', async () => {
    await run('docker-compose', ['-f', COMPOSE, 'config', '-q'], { cwd: ROOT });
    await run('docker-compose', ['-f', COMPOSE, '--profile', 'gpu', 'config', '-q'], { cwd: ROOT });
  });

  it('is checked against the Compose schema (a malformed file fails)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-compose-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bad = (await readFile(COMPOSE, 'utf8')).replace('capabilities: [gpu]', 'capabilities: gpu');
    await writeFile(join(dir, 'docker-compose.yml'), bad);
    await expect(
      run('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config', '-q']),
    ).rejects.toThrow(/capabilities/);
  });

  it('runs Redis with AOF on a volume, the coordinator with its secret, data volume and health check', async () => {
    const c = await resolved();
    const redis = c.services.redis;
    expect(redis.command.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.command.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(mounts(redis)).toContainEqual({ source: 'redis-data', target: '/data', bind: false });

    const coord = c.services.coordinator;
    expect(coord.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(coord.environment.RATCHET_ADMIN_TOKEN_FILE).toBe('/run/secrets/ratchet_admin_token');
    expect(coord.secrets.map((s: Obj) => s.source)).toEqual(['ratchet_admin_token']);
    expect(mounts(coord)).toContainEqual({
      source: 'coordinator-data',
      target: '/var/lib/ratchet',
      bind: false,
    });
    expect(coord.healthcheck.test.join(' ')).toMatch(/\/healthz/);
    expect(coord.depends_on.redis.condition).toBe('service_healthy');
    expect(c.secrets.ratchet_admin_token.file).toMatch(/deploy\/compose\/secrets\/admin\.token$/);
  });

  it('provisions Prometheus with the scrape config and alerts, Grafana with the data source and dashboards', async () => {
    const c = await resolved();
    const binds = (svc: string) =>
      mounts(c.services[svc])
        .filter((m) => m.bind)
        .map((m): [string, string] => [m.source, m.target]);
    for (const svc of ['prometheus', 'grafana', 'alertmanager']) {
      for (const [source] of binds(svc)) await access(source); // every mounted file exists
    }
    expect(binds('prometheus').map((b: string[]) => b[1])).toEqual(
      expect.arrayContaining(['/etc/prometheus/prometheus.yml', '/etc/prometheus/alerts.yml']),
    );
    const promCfg = parse(await readFile(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
    expect(promCfg.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    expect(promCfg.scrape_configs[0].static_configs[0].targets).toEqual(['coordinator:8787']);
    expect(promCfg.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    expect(binds('alertmanager').map((b: string[]) => b[1])).toEqual(['/etc/alertmanager/alertmanager.yml']);

    const grafana = c.services.grafana;
    expect(binds('grafana').map((b: string[]) => b[1])).toEqual(
      expect.arrayContaining(['/etc/grafana/provisioning', '/etc/grafana/dashboards/ratchet']),
    );
    const prov = join(ROOT, 'deploy', 'grafana', 'provisioning');
    const ds = parse(await readFile(join(prov, 'datasources', 'prometheus.yml'), 'utf8'));
    expect(ds.datasources[0]).toMatchObject({ uid: 'prometheus', type: 'prometheus' });
    expect(grafana.environment.RATCHET_PROMETHEUS_URL).toBe('http://prometheus:9090');
    const dashProv = parse(await readFile(join(prov, 'dashboards', 'ratchet.yml'), 'utf8'));
    expect(dashProv.providers[0].options.path).toBe('/etc/grafana/dashboards/ratchet');
    await access(
      join(
        ROOT,
        grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH.replace(
          '/etc/grafana/dashboards/ratchet',
          'deploy/grafana/dashboards',
        ),
      ),
    );
  });

  it('puts the GPU worker under the gpu profile with an NVIDIA device reservation', async () => {
    const plain = await resolved();
    const gpu = plain.services['worker-gpu'];
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.deploy.resources.reservations.devices).toEqual([
      { driver: 'nvidia', count: 'all', capabilities: ['gpu'] },
    ]);
    expect(gpu.command).toContain('cuda');
    expect(plain.services['worker-cpu'].profiles).toBeUndefined();
    for (const w of ['worker-cpu', 'worker-gpu']) {
      expect(plain.services[w].environment.RATCHET_TOKEN_FILE).toBe('/run/ratchet/worker.token');
      expect(plain.services[w].depends_on['worker-token'].condition).toBe('service_completed_successfully');
    }
  });

  it('pins every image and builds from Dockerfiles that exist', async () => {
    const c = await resolved('--profile', 'gpu');
    for (const [name, svc] of Object.entries<Obj>(c.services)) {
      expect(svc.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
      if (svc.build) await access(join(svc.build.context, svc.build.dockerfile));
    }
  });
});

describe('Dockerfiles', () => {
  it('pin their bases, run as a non-root user and match the repository', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const pnpmVersion = pkg.packageManager.replace('pnpm@', '');
    const tsxVersion = pkg.devDependencies.tsx;
    const workspace: string[] = parse(await readFile(join(ROOT, 'pnpm-workspace.yaml'), 'utf8')).packages;
    for (const file of DOCKERFILES) {
      const text = await readFile(file, 'utf8');
      const args = Object.fromEntries([...text.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
      const bases = [...text.matchAll(/^FROM (\S+)/gm)].map((m) =>
        m[1]!.replace(/^\$\{(\w+)\}$/, (_, a) => args[a]),
      );
      for (const b of bases) expect(b, file).toMatch(/^[\w./-]+:\d[\w.-]*$/);
      const stages = text.split(/^FROM /m);
      const last = stages[stages.length - 1]!;
      expect(last, file).toMatch(/^USER ratchet$/m);
      expect(last, file).toMatch(/useradd --system --uid 10001/);
      expect(last, file).toMatch(/^ENTRYPOINT \["tini", "--", "\/app\/deploy\/docker\/entrypoint\.sh"\]$/m);
      expect(text, file).toContain(`pnpm@${pnpmVersion}`);
      expect(text, file).toContain(`tsx@${tsxVersion}`);
      expect(text, file).toContain('pnpm install --frozen-lockfile --prod');
      for (const m of text.matchAll(/^COPY (?!--from)(\S+) /gm)) await access(join(ROOT, m[1]!));
      // Every workspace package is installed and copied (a new one must not be forgotten).
      for (const p of workspace) {
        expect(text, `${file}: ${p}`).toContain(`COPY ${p}/package.json ${p}/`);
        expect(text, `${file}: ${p}`).toMatch(new RegExp(`^COPY ${p} ${p}$`, 'm'));
      }
    }
    expect(await readFile(DOCKERFILES[0]!, 'utf8')).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    expect((await stat(ENTRYPOINT)).mode & constants.S_IXUSR).toBeTruthy();
  });
});

describe('the images entrypoint', () => {
  it('reads a token from a *_FILE secret and runs the CLI with it', async () => {
    const t = await startCoordinator();
    cleanups.push(() => t.close());
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-entry-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'admin.token'), `${t.c.adminToken}\n`, { mode: 0o600 });
    const env = {
      ...process.env,
      RATCHET_APP_DIR: ROOT,
      RATCHET_TSX_LOADER: TSX_LOADER,
      RATCHET_URL: t.url,
      RATCHET_TOKEN_FILE: join(dir, 'admin.token'),
    };
    const { stdout } = await run(ENTRYPOINT, ['token', 'create', '--role', 'worker', '--name', 'entry'], {
      env,
    });
    expect(stdout.trim()).toMatch(/^rt_worker_[\w-]+$/);

    const missing = run(ENTRYPOINT, ['status'], { env: { ...env, RATCHET_TOKEN_FILE: join(dir, 'nope') } });
    await expect(missing).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/is not readable/),
    });
  });
});
