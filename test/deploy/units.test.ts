/**
 * deploy/systemd units pass `systemd-analyze verify` (which also checks that ExecStart's
 * binary exists: /usr/bin/node here, as on Debian/Ubuntu with Node from the distribution or
 * NodeSource); the launchd plist parses with the npm `plist` parser and Python's strict
 * plistlib, and asks for background priority. The Windows installer cannot run here.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import plist from 'plist';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, ROOT } from '../support/harness.ts';

const run = promisify(execFile);
const SYSTEMD = join(ROOT, 'deploy', 'systemd');
const PLIST = join(ROOT, 'deploy', 'launchd', 'org.ratchet.worker.plist');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** systemd-analyze verify; its warnings (unknown keys, say) go to stderr with exit 0: both count. */
async function verify(...units: string[]): Promise<{ code: number; output: string }> {
  try {
    const r = await run('systemd-analyze', ['verify', ...units], {
      env: { ...process.env, SYSTEMD_LOG_COLOR: '0' },
    });
    return { code: 0, output: (r.stdout + r.stderr).trim() };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, output: (x.stdout + x.stderr).trim() };
  }
}

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ratchet-units-'));
  dirs.push(d);
  return d;
}

describe('deploy/systemd', () => {
  it('verifies the coordinator unit and worker instances without a warning', async () => {
    const d = await tmp();
    // A template is verified through instances, so that %i expands: a GPU and the CPU.
    for (const i of ['0', 'cpu']) {
      await copyFile(join(SYSTEMD, 'ratchet-worker@.service'), join(d, `ratchet-worker@${i}.service`));
    }
    const r = await verify(
      join(SYSTEMD, 'ratchet-coordinator.service'),
      join(d, 'ratchet-worker@0.service'),
      join(d, 'ratchet-worker@cpu.service'),
    );
    expect(r).toEqual({ code: 0, output: '' });
  });

  it('is a live check: a unit with an unknown key or a missing binary is reported', async () => {
    const d = await tmp();
    const text = await readFile(join(SYSTEMD, 'ratchet-coordinator.service'), 'utf8');
    await writeFile(join(d, 'typo.service'), text.replace('Restart=on-failure', 'Restrat=on-failure'));
    expect((await verify(join(d, 'typo.service'))).output).toMatch(/Unknown key 'Restrat'/);
    await writeFile(
      join(d, 'nonode.service'),
      text.replace('ExecStart=/usr/bin/node', 'ExecStart=/nonexistent/node'),
    );
    expect(await verify(join(d, 'nonode.service'))).toMatchObject({
      code: 1,
      output: expect.stringMatching(/not executable/),
    });
  });

  it('runs the coordinator as its own user with a state directory, and workers that give jobs back', async () => {
    const coord = await readFile(join(SYSTEMD, 'ratchet-coordinator.service'), 'utf8');
    expect(coord).toMatch(/^User=ratchet$/m);
    expect(coord).toMatch(/^StateDirectory=ratchet$/m);
    expect(coord).toMatch(/^Environment=RATCHET_DATA_DIR=\/var\/lib\/ratchet$/m);
    const worker = await readFile(join(SYSTEMD, 'ratchet-worker@.service'), 'utf8');
    expect(worker).toMatch(/^KillSignal=SIGTERM$/m);
    expect(worker).toMatch(/^KillMode=mixed$/m);
    // The file `ratchet join --service` writes, and the device the instance names.
    expect(worker).toMatch(/^EnvironmentFile=\/etc\/ratchet\/worker\.env$/m);
    expect(worker).toMatch(/^Environment=CUDA_VISIBLE_DEVICES=%i$/m);
    expect(worker).toMatch(/ \$RATCHET_WORKER_ARGS$/m);
  });
});

describe('deploy/launchd', () => {
  it('parses, and runs the worker at background priority, kept alive after a crash', async () => {
    const xml = await readFile(PLIST, 'utf8');
    const d = plist.parse(xml) as Record<string, unknown>;
    expect(d.Label).toBe('org.ratchet.worker');
    expect(d.ProcessType).toBe('Background');
    expect(d.LowPriorityIO).toBe(true);
    expect(d.Nice).toBeGreaterThan(0);
    expect(d.KeepAlive).toEqual({ SuccessfulExit: false });
    const args = d.ProgramArguments as string[];
    expect(args.slice(0, 4)).toEqual([
      '/bin/sh',
      '/opt/ratchet/deploy/docker/entrypoint.sh',
      'worker',
      '--low-priority',
    ]);
    const env = d.EnvironmentVariables as Record<string, string>;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['RATCHET_URL', 'RATCHET_TOKEN_FILE', 'RATCHET_APP_DIR', 'RATCHET_TSX_LOADER']),
    );
    // The token stays out of the plist.
    expect(xml).not.toMatch(/rt_worker_/);
    // Python's plistlib is the strict reference parser (expat): it must agree.
    const { stdout } = await run(PYTHON, [
      '-c',
      'import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))',
      PLIST,
    ]);
    expect(JSON.parse(stdout)).toEqual(d);
  });
});
