import { describe, expect, it } from 'vitest';
import { inviteLink, parseDuration, parseInvite } from '../commands/tokens.ts';
import { foldingPrefsFrom, sandboxLimitsFrom, WORKER_HELP } from '../commands/worker-options.ts';
import { evaluate, type MachineFacts, MIN_FREE_DISK_BYTES } from './checks.ts';
import { servicePlan, workerEnvFile } from './service.ts';

const ready: MachineFacts = {
  platform: 'linux',
  python: {
    path: '/usr/bin/python3',
    probe: {
      version: '3.11.2',
      torch: '2.5.1',
      cuda: true,
      cudaDevices: ['NVIDIA RTX 4090'],
      mps: false,
      mlx: null,
    },
    error: null,
  },
  freeDiskBytes: 100 * 1024 ** 3,
  sandbox: { ok: true, detail: 'bwrap, memory limit by cgroup-v2' },
  debianLike: true,
};

describe('join checks', () => {
  it('passes a ready machine and reports its GPU', () => {
    const c = evaluate(ready);
    expect(c.every((x) => x.ok)).toBe(true);
    expect(c.find((x) => x.name === 'GPU')?.detail).toBe('CUDA: NVIDIA RTX 4090');
  });

  it('names the install command of each platform for a missing framework', () => {
    const noTorch = {
      ...ready,
      python: { ...ready.python, probe: { ...ready.python.probe!, torch: null, cuda: false } },
    };
    expect(evaluate(noTorch).find((x) => x.name === 'PyTorch or MLX')).toMatchObject({
      ok: false,
      required: true,
      fix: 'sudo apt-get install python3-torch libopenblas0-pthread   (or: /usr/bin/python3 -m pip install torch)',
    });
    const mac = { ...noTorch, platform: 'darwin' as const };
    expect(evaluate(mac).find((x) => x.name === 'PyTorch or MLX')?.fix).toContain('pip install mlx');
    const macMlx = { ...mac, python: { ...mac.python, probe: { ...mac.python.probe, mlx: '0.21.0' } } };
    expect(evaluate(macMlx).find((x) => x.name === 'PyTorch or MLX')?.detail).toBe('MLX 0.21.0');
    expect(evaluate(macMlx).find((x) => x.name === 'GPU')?.detail).toBe('Apple GPU (MLX)');
  });

  it('stops on too little disk or no sandbox, but not on a missing GPU', () => {
    const low = evaluate({ ...ready, freeDiskBytes: MIN_FREE_DISK_BYTES - 1 }).find(
      (x) => x.name === 'Free disk',
    );
    expect(low).toMatchObject({ ok: false, required: true });
    const noSbx = evaluate({ ...ready, sandbox: { ok: false, detail: 'bwrap: not found' } });
    expect(noSbx.find((x) => x.name === 'Sandbox')?.fix).toContain('sudo apt-get install bubblewrap');
    const cpu = {
      ...ready,
      python: { ...ready.python, probe: { ...ready.python.probe!, cuda: false, cudaDevices: [] } },
    };
    expect(evaluate(cpu).find((x) => x.name === 'GPU')).toMatchObject({ ok: false, required: false });
  });
});

describe('service and invites', () => {
  it('writes an env file the deploy units read, quoting what needs it', () => {
    expect(
      workerEnvFile('https://c.example.org', 'rt_worker_abc', ['--folding', '--hours', '22:00-07:00']),
    ).toBe(
      "RATCHET_URL=https://c.example.org\nRATCHET_TOKEN=rt_worker_abc\nRATCHET_WORKER_ARGS='--folding --hours 22:00-07:00'\n",
    );
  });

  it("uses this platform's deploy unit", () => {
    expect(servicePlan('linux', '/opt/ratchet', '/h/.config/ratchet/worker.env', '0').join('\n')).toContain(
      'sudo install -m 644 /opt/ratchet/deploy/systemd/ratchet-worker@.service /etc/systemd/system/',
    );
    expect(servicePlan('darwin', '/opt/ratchet', 'e', 'cpu')[0]).toContain(
      'deploy/launchd/org.ratchet.worker.plist',
    );
    expect(servicePlan('win32', 'C:\\ratchet', 'e', 'cpu')[0]).toContain(
      'deploy\\windows\\install-worker.ps1',
    );
  });

  it('round-trips an invite link and reads durations', () => {
    const link = inviteLink('http://coord:8787/', 'rt_worker_AbC-9_x');
    expect(link).toBe('http://coord:8787/join#rt_worker_AbC-9_x');
    expect(parseInvite(link)).toEqual({ url: 'http://coord:8787', token: 'rt_worker_AbC-9_x' });
    expect(parseInvite('http://coord:8787')).toBeNull();
    expect([parseDuration('90'), parseDuration('45m'), parseDuration('12h'), parseDuration('30d')]).toEqual([
      90, 2700, 43_200, 2_592_000,
    ]);
    expect(() => parseDuration('soon')).toThrow(/duration soon/);
  });
});

describe('worker flags', () => {
  it('documents every folding preference with its default in ratchet worker --help', () => {
    for (const line of [
      '--max-other-cpu PCT',
      '(default 25)',
      '--idle-minutes N',
      '(default 3)',
      '--allow-busy-gpu',
      '--allow-on-battery',
      '--hours HH:MM-HH:MM',
      '--max-cache-gb N',
      '(default 20)',
      '--finish-if-done F',
      '(default 0.9)',
      '--sandbox on|off',
      '--memory-limit-gb N',
      '(default 8)',
      '--disk-limit-gb N',
    ])
      expect(WORKER_HELP).toContain(line);
  });

  it('turns folding flags into preferences, and refuses bad ones naming the flag', () => {
    expect(foldingPrefsFrom({ folding: false })).toBeNull();
    expect(
      foldingPrefsFrom({ folding: true, 'idle-minutes': '10', hours: '22:00-07:00', 'allow-busy-gpu': true }),
    ).toMatchObject({ idleMinutes: 10, hours: '22:00-07:00', requireFreeGpu: false, maxOtherCpuPct: 25 });
    expect(() => foldingPrefsFrom({ folding: true, 'max-other-cpu': 'lots' })).toThrow(
      '--max-other-cpu must be',
    );
    expect(() => foldingPrefsFrom({ folding: true, hours: '9-17' })).toThrow(/hours: HH:MM-HH:MM/);
    expect(() => foldingPrefsFrom({ folding: true, 'finish-if-done': '2' })).toThrow(/finishIfDoneFraction/);
  });

  it('puts other people’s code in the sandbox by default in folding mode only', () => {
    expect(sandboxLimitsFrom({ folding: false })).toBeNull();
    expect(sandboxLimitsFrom({ folding: true })?.memoryBytes).toBe(8 * 1024 ** 3);
    expect(sandboxLimitsFrom({ folding: false, sandbox: 'on', 'memory-limit-gb': '2' })?.memoryBytes).toBe(
      2 * 1024 ** 3,
    );
    expect(sandboxLimitsFrom({ folding: true, sandbox: 'off' })).toBeNull();
    expect(() => sandboxLimitsFrom({ sandbox: 'maybe' })).toThrow('--sandbox must be on or off');
  });
});
