import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '@ratchet/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveToolchain } from './toolchain.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('toolchain', () => {
  it('reports a missing interpreter as a coded error naming what was looked for', () => {
    const r = resolveToolchain(['python3.99', 'train.py'], {
      platform: 'linux',
      env: { PATH: '/nonexistent/bin' },
      home: '/nonexistent/home',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(ErrorCodes.TOOLCHAIN_MISSING);
    expect(r.message).toMatch(/^RATCHET_E_TOOLCHAIN_MISSING: the track runs "python3.99"/);
    expect(r.message).toContain('/nonexistent/bin/python3.99');
    expect(r.message).toContain('--python');
  });

  it('says how to get uv when the track runs it', () => {
    const r = resolveToolchain(['uv', 'run', 'train.py'], {
      platform: 'linux',
      env: { PATH: '' },
      home: '/none',
    });
    expect(!r.ok && r.message).toContain('install uv');
  });

  it("finds uv where its installer puts it, even off the service's PATH", async () => {
    const home = await mkdtemp(join(tmpdir(), 'ratchet-home-'));
    dirs.push(home);
    await mkdir(join(home, '.local', 'bin'), { recursive: true });
    await writeFile(join(home, '.local', 'bin', 'uv'), '#!/bin/sh\n');
    await chmod(join(home, '.local', 'bin', 'uv'), 0o755);
    const r = resolveToolchain(['uv', 'run', 'train.py'], {
      platform: 'linux',
      env: { PATH: '/usr/bin' },
      home,
    });
    expect(r).toEqual({ ok: true, argv: [join(home, '.local', 'bin', 'uv'), 'run', 'train.py'] });
  });

  it('finds uv.exe on Windows under %USERPROFILE%\\.local\\bin', () => {
    const r = resolveToolchain(['uv', 'run', 'train.py'], {
      platform: 'win32',
      env: { Path: 'C:\\Windows', USERPROFILE: 'C:\\Users\\ada' },
      home: 'C:\\Users\\ada',
      isExecutable: (f) => f === 'C:\\Users\\ada\\.local\\bin\\uv.exe',
    });
    expect(r).toEqual({ ok: true, argv: ['C:\\Users\\ada\\.local\\bin\\uv.exe', 'run', 'train.py'] });
  });
});
