/**
 * `ratchet join` as a volunteer runs it (real processes, a real coordinator): it says exactly
 * what is missing and how to install it, refuses a bad token, and with everything in place
 * joins from an invite link, saves its settings privately and runs a job in folding mode,
 * sandboxed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PYTHON, startCoordinator, type TestCoordinator, TSX_LOADER } from './support/harness.ts';
import { type Proc, spawnCli } from './support/procs.ts';

const exec = promisify(execFile);
let dir: string;
let coord: TestCoordinator;
const procs: Proc[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-join-'));
  coord = await startCoordinator();
});
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await coord?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A volunteer's session: its own home and cache. */
function volunteerEnv(name: string) {
  return {
    HOME: join(dir, name),
    XDG_CACHE_HOME: join(dir, name, '.cache'),
    RATCHET_TOKEN: '',
    RATCHET_PYTHON: '',
  };
}

async function join_(args: string[], env: Record<string, string>) {
  const p = spawnCli(['join', ...args], env);
  procs.push(p);
  const code = await p.exit(120_000);
  return { code, out: p.output() };
}

describe('ratchet join', () => {
  it('says exactly what is missing, and how to install it', async () => {
    const { token } = await coord.admin.tokens.create.mutate({ role: 'worker', name: 'vol-missing' });
    const none = await join_(
      [coord.url, '--token', token, '--python', join(dir, 'no-such-python')],
      volunteerEnv('a'),
    );
    expect(none.code).toBe(2);
    expect(none.out).toMatch(/MISSING Python\s+\S*no-such-python: not found/);
    expect(none.out).toContain('→ sudo apt-get install python3, or pass --python PATH');
    expect(none.out).toContain('RATCHET_E_JOIN_CHECK_FAILED');

    // A real interpreter without torch: a venv without the system's packages.
    const venv = join(dir, 'venv');
    await exec(PYTHON, ['-m', 'venv', '--without-pip', venv]);
    const bare = await join_(
      [coord.url, '--token', token, '--python', join(venv, 'bin', 'python')],
      volunteerEnv('b'),
    );
    expect(bare.code).toBe(2);
    expect(bare.out).toMatch(/ok\s+Python\s+\S+venv\/bin\/python \(Python 3/);
    expect(bare.out).toMatch(/MISSING PyTorch or MLX\s+neither torch nor mlx imports/);
    expect(bare.out).toContain('sudo apt-get install python3-torch libopenblas0-pthread');
    expect(bare.out).toMatch(/note\s+GPU\s+none usable: this machine joins as a CPU worker/);
  });

  it('refuses a token the coordinator does not know', async () => {
    const r = await join_(
      [coord.url, '--token', 'rt_worker_notatoken', '--python', PYTHON],
      volunteerEnv('c'),
    );
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/ok\s+Sandbox\s+bwrap/);
    expect(r.out).toContain('the coordinator refuses this token (RATCHET_E_UNAUTHENTICATED)');
  });

  it('joins from an invite link and runs a job in folding mode, sandboxed', async () => {
    const created = await exec(process.execPath, [
      '--import',
      TSX_LOADER,
      CLI,
      'token',
      'create',
      '--role',
      'worker',
      '--name',
      'vol-invited',
      '--invite',
      '--coordinator',
      coord.url,
      '--token',
      coord.c.adminToken,
    ]);
    const invite = /^invite: (\S+)$/m.exec(created.stdout)![1]!;
    const token = created.stdout.split('\n')[0]!;
    expect(invite).toBe(`${coord.url}/join#${token}`);

    const env = volunteerEnv('d');
    const r = await join_(
      [
        invite,
        '--python',
        PYTHON,
        '--max-other-cpu',
        '100',
        '--once',
        '--workdir',
        join(dir, 'd', 'work'),
        '--service',
      ],
      env,
    );
    expect(r.out).toMatch(/ok\s+PyTorch or MLX\s+PyTorch 1\./);
    expect(r.out).toContain(`token accepted by ${coord.url}`);
    expect(r.out).toContain('sudo install -m 644');
    expect(r.out).toContain('deploy/systemd/ratchet-worker@.service');
    expect(r.out).toMatch(/sandbox: bwrap, memory limit by/);
    expect(r.out).toMatch(/finished \S+: 1\.000000/);
    expect(r.code).toBe(0);
    const envFile = join(env.HOME, '.config', 'ratchet', 'worker.env');
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    const saved = await readFile(envFile, 'utf8');
    expect(saved).toContain(`RATCHET_TOKEN=${token}`);
    expect(saved).toMatch(
      /^RATCHET_WORKER_ARGS='--folding --python \S+ --workdir \S+ --max-other-cpu 100'$/m,
    );
  });
});
