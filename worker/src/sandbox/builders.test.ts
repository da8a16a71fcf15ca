import { describe, expect, it } from 'vitest';
import { darwinArgv, seatbeltProfile } from './darwin.ts';
import { cgroupLauncherArgv, parseCgroupRoots, prlimitArgv } from './limits.ts';
import { bwrapArgs, type HostLayout, pythonRuntimeDirs } from './linux.ts';
import { DEFAULT_LIMITS, type SandboxRun, sandboxEnv } from './spec.ts';
import { JOB_LIMIT, jobObjectScript, PRIORITY, windowsArgv, windowsQuote } from './windows.ts';

const run: SandboxRun = {
  argv: ['/usr/bin/python3', 'train.py'],
  checkoutDir: '/home/vol/.cache/ratchet/worker/w/jobs/e1',
  trackCacheDir: '/home/vol/.cache/ratchet/tracks/tiny',
  writableCache: false,
  readOnly: ['/home/vol/.cache/ratchet/data', '/home', '/'],
  network: false,
  env: { RATCHET_SEED: '3' },
  limits: DEFAULT_LIMITS,
};
const layout: HostLayout = {
  system: [
    { path: '/usr', link: null },
    { path: '/bin', link: 'usr/bin' },
  ],
  etc: ['/etc/ld.so.cache'],
  gpuDevices: [],
  gpuSys: ['/sys/devices'],
};

/** The value following each occurrence of `flag`. */
function after(args: string[], flag: string, width = 1): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args.slice(i + 1, i + 1 + width));
  });
  return out;
}

describe('bwrapArgs', () => {
  it('unshares the network unless asked, drops capabilities and dies with the worker', () => {
    const a = bwrapArgs(run, layout, {});
    expect(a).toContain('--unshare-net');
    expect(a).not.toContain('--share-net');
    for (const f of ['--unshare-user', '--unshare-pid', '--die-with-parent', '--new-session', '--clearenv'])
      expect(a).toContain(f);
    expect(after(a, '--cap-drop')).toEqual([['ALL']]);
    expect(bwrapArgs({ ...run, network: true }, layout, {})).toContain('--share-net');
  });

  it('binds the checkout writable and the track cache read-only at $HOME/.cache for training', () => {
    const a = bwrapArgs(run, layout, {});
    expect(after(a, '--bind', 2)).toEqual([[run.checkoutDir, run.checkoutDir]]);
    expect(after(a, '--ro-bind', 2)).toContainEqual([run.trackCacheDir, '/tmp/home/.cache']);
    const prep = bwrapArgs({ ...run, writableCache: true }, layout, {});
    expect(after(prep, '--bind', 2)).toContainEqual([run.trackCacheDir, '/tmp/home/.cache']);
  });

  it('never mounts /, /home or the real /etc, and ends with a read-only root and the command', () => {
    const a = bwrapArgs(run, layout, {});
    const bound = after(a, '--ro-bind', 2).map((p) => p[0]);
    expect(bound).not.toContain('/');
    expect(bound).not.toContain('/home');
    expect(bound).toContain('/home/vol/.cache/ratchet/data');
    expect(after(a, '--symlink', 2)).toContainEqual(['usr/bin', '/bin']);
    const dash = a.indexOf('--');
    expect(a.slice(dash + 1)).toEqual(run.argv);
    expect(a.slice(dash - 4, dash)).toEqual(['--remount-ro', '/', '--chdir', run.checkoutDir]);
  });

  it('passes GPU device nodes and their /sys entries only when there are some', () => {
    expect(bwrapArgs(run, layout, {})).not.toContain('--dev-bind');
    const gpu = bwrapArgs(run, { ...layout, gpuDevices: ['/dev/nvidia0', '/dev/nvidiactl'] }, {});
    expect(after(gpu, '--dev-bind', 2)).toEqual([
      ['/dev/nvidia0', '/dev/nvidia0'],
      ['/dev/nvidiactl', '/dev/nvidiactl'],
    ]);
    expect(after(gpu, '--ro-bind-try', 2)).toContainEqual(['/sys/devices', '/sys/devices']);
  });

  it('sizes /tmp and sets only the given environment', () => {
    const a = bwrapArgs(run, layout, { HOME: '/tmp/home', RATCHET_SEED: '3' });
    expect(after(a, '--size')).toEqual([[String(DEFAULT_LIMITS.tmpBytes)]]);
    expect(after(a, '--setenv', 2)).toEqual([
      ['HOME', '/tmp/home'],
      ['RATCHET_SEED', '3'],
    ]);
  });
});

describe('pythonRuntimeDirs', () => {
  it('binds a pyenv interpreter inside $HOME alone, never $HOME, system folders or the checkout', () => {
    const dirs = pythonRuntimeDirs(
      {
        executable: '/home/vol/.pyenv/versions/3.12.1/bin/python3.12',
        prefixes: ['/home/vol/.pyenv/versions/3.12.1', '/home/vol'],
        path: [
          '/home/vol/.pyenv/versions/3.12.1/lib/python3.12',
          '/home/vol/.pyenv/versions/3.12.1/lib/python312.zip',
          '/usr/lib/python3/dist-packages',
          `${run.checkoutDir}/vendor`,
          '/home',
        ],
      },
      run.checkoutDir,
      '/home/vol',
    );
    expect(dirs).toEqual(['/home/vol/.pyenv/versions/3.12.1']);
  });
});

describe('limits', () => {
  it('builds prlimit with a file-size limit, and an address-space limit only when asked', () => {
    expect(prlimitArgv({ addressSpaceBytes: null, fileBytes: 100 })).toEqual([
      'prlimit',
      '--fsize=100',
      '--core=0',
      '--',
    ]);
    expect(prlimitArgv({ addressSpaceBytes: 5, fileBytes: 100 })).toContain('--as=5');
  });

  it('enters the cgroup before exec, so nothing runs outside it', () => {
    const a = cgroupLauncherArgv('/sys/fs/cgroup/x/cgroup.procs', ['bwrap', '--', 'python3']);
    expect(a.slice(0, 3)).toEqual(['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"']);
    expect(a.slice(3)).toEqual(['/sys/fs/cgroup/x/cgroup.procs', 'bwrap', '--', 'python3']);
  });

  it('finds cgroup v2 and v1 memory mounts in mountinfo', () => {
    const hybrid = [
      '35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
      '38 25 0:33 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '39 25 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
    ].join('\n');
    expect(parseCgroupRoots(hybrid, '4:memory:/x\n0::/user.slice/u.scope\n')).toEqual({
      v2: { mount: '/sys/fs/cgroup/unified', own: '/user.slice/u.scope' },
      v1Memory: '/sys/fs/cgroup/memory',
    });
    const unified = '30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw';
    expect(parseCgroupRoots(unified, '0::/\n')).toEqual({
      v2: { mount: '/sys/fs/cgroup', own: '/' },
      v1Memory: null,
    });
  });
});

describe('sandboxEnv', () => {
  it('keeps toolkit variables and the job, drops everything else', () => {
    const env = sandboxEnv(
      {
        CUDA_VISIBLE_DEVICES: '1',
        AWS_ACCESS_KEY_ID: 'x',
        SSH_AUTH_SOCK: '/run/a',
        HOME: '/root',
        LANG: 'C.UTF-8',
      },
      { RATCHET_SEED: '9' },
      { path: '/usr/bin', home: '/tmp/home', tmp: '/tmp' },
    );
    expect(env.CUDA_VISIBLE_DEVICES).toBe('1');
    expect(env.LANG).toBe('C.UTF-8');
    expect(env.RATCHET_SEED).toBe('9');
    expect(env.HOME).toBe('/tmp/home');
    expect(env.XDG_CACHE_HOME).toBe('/tmp/home/.cache');
    expect(env.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(env.SSH_AUTH_SOCK).toBeUndefined();
  });
});

describe('macOS (sandbox-exec)', () => {
  it('denies by default, allows writes only to the checkout and temp, and no network', () => {
    const p = seatbeltProfile(run, '/private/tmp/r1');
    expect(p).toMatch(/^\(version 1\)\n\(deny default\)/);
    const write = p.split('\n').find((l) => l.startsWith('(allow file-write*'))!;
    expect(write).toContain(`(subpath "${run.checkoutDir}")`);
    expect(write).toContain('(subpath "/private/tmp/r1")');
    expect(write).not.toContain(run.trackCacheDir);
    expect(p).not.toContain('network');
    expect(seatbeltProfile({ ...run, network: true, writableCache: true }, '/t')).toContain(
      '(allow network*)',
    );
  });

  it('escapes quotes in paths and runs under background QoS with a file-size limit', () => {
    expect(seatbeltProfile({ ...run, checkoutDir: '/a"b' }, '/t')).toContain('(subpath "/a\\"b")');
    const a = darwinArgv(run, '/t', true);
    expect(a.slice(0, 2)).toEqual(['taskpolicy', '-b']);
    expect(a[4]).toBe(`ulimit -f ${DEFAULT_LIMITS.fileBytes / 512} && exec "$@"`);
    expect(a.slice(-2)).toEqual(run.argv);
    expect(darwinArgv(run, '/t', false)[0]).toBe('/bin/sh');
  });
});

describe('Windows (Job object)', () => {
  it('quotes arguments the way CommandLineToArgvW reads them', () => {
    expect(windowsQuote('plain')).toBe('plain');
    expect(windowsQuote('has space')).toBe('"has space"');
    expect(windowsQuote('')).toBe('""');
    expect(windowsQuote('say "hi"')).toBe('"say \\"hi\\""');
    expect(windowsQuote('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
  });

  it('kills the tree on close, caps job memory and sets the priority class', () => {
    const s = jobObjectScript({
      argv: ['python.exe', 'train.py'],
      cwd: 'C:\\w',
      memoryBytes: 1234,
      priority: 'IDLE',
    });
    expect(s).toContain(
      `LimitFlags = ${JOB_LIMIT.KILL_ON_JOB_CLOSE | JOB_LIMIT.JOB_MEMORY | JOB_LIMIT.PRIORITY_CLASS}`,
    );
    expect(s).toContain(`PriorityClass = ${PRIORITY.IDLE}`);
    expect(s).toContain('[uint64]1234');
    expect(s).toContain("-FilePath 'python.exe' -ArgumentList 'train.py' -WorkingDirectory 'C:\\w'");
  });

  it('passes the script base64-encoded as UTF-16LE', () => {
    const opts = { argv: ['py', "it's"], cwd: 'C:\\', memoryBytes: 1, priority: 'BELOW_NORMAL' as const };
    const a = windowsArgv(opts);
    expect(a.slice(0, -1)).toEqual([
      'powershell.exe',
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
    ]);
    expect(Buffer.from(a.at(-1)!, 'base64').toString('utf16le')).toBe(jobObjectScript(opts));
    expect(jobObjectScript(opts)).toContain("-ArgumentList 'it''s'");
  });
});
