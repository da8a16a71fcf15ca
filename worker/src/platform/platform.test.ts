import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProgress, parseRunLog } from '@ratchet/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheDirFor, findExecutable, pythonCandidates, treeKillPlan } from './platform.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('Windows', () => {
  it('kills a timed-out run with its whole tree through taskkill /T /F', () => {
    expect(treeKillPlan('win32', 4242, 'SIGTERM')).toEqual({
      kind: 'taskkill',
      cmd: 'taskkill',
      args: ['/PID', '4242', '/T', '/F'],
    });
    expect(treeKillPlan('linux', 4242, 'SIGTERM')).toEqual({ kind: 'group', pid: -4242, signal: 'SIGTERM' });
    expect(treeKillPlan('darwin', 7, 'SIGKILL')).toEqual({ kind: 'group', pid: -7, signal: 'SIGKILL' });
  });

  it('caches under %LOCALAPPDATA%', () => {
    expect(cacheDirFor('win32', { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, 'C:\\Users\\ada')).toBe(
      'C:\\Users\\ada\\AppData\\Local\\ratchet',
    );
    expect(cacheDirFor('win32', {}, 'C:\\Users\\ada')).toBe('C:\\Users\\ada\\AppData\\Local\\ratchet');
    expect(cacheDirFor('linux', {}, '/home/ada')).toBe('/home/ada/.cache/ratchet');
    expect(cacheDirFor('linux', { XDG_CACHE_HOME: '/var/cache/x' }, '/home/ada')).toBe(
      '/var/cache/x/ratchet',
    );
  });

  it('tries the py launcher first', () => {
    expect(pythonCandidates('win32')).toEqual(['py', 'python', 'python3']);
    expect(pythonCandidates('linux')).toEqual(['python3', 'python']);
  });

  it('finds programs through Path and PATHEXT, as cmd.exe does', () => {
    const files = new Set(['C:\\Windows\\py.exe', 'C:\\Users\\ada\\.local\\bin\\uv.exe', 'D:\\tools\\x.cmd']);
    const opts = {
      platform: 'win32' as const,
      env: { Path: 'C:\\Windows;D:\\tools', PATHEXT: '.COM;.EXE;.BAT;.CMD' },
      isExecutable: (f: string) => files.has(f),
    };
    expect(findExecutable('py', opts)).toBe('C:\\Windows\\py.exe');
    expect(findExecutable('x', opts)).toBe('D:\\tools\\x.cmd');
    expect(findExecutable('uv', opts)).toBeNull();
    expect(findExecutable('uv', { ...opts, extraDirs: ['C:\\Users\\ada\\.local\\bin'] })).toBe(
      'C:\\Users\\ada\\.local\\bin\\uv.exe',
    );
    expect(findExecutable('C:\\Windows\\py.exe', opts)).toBe('C:\\Windows\\py.exe');
  });

  it('parses a run log written with CRLF line ends', () => {
    const log = [
      'step 00000 (0.0%) | loss: 9.000000 | remaining: 300s    \rstep 00001 (50.0%) | loss: 4.000000 | remaining: 150s    ',
      '---',
      'val_bpb:          1.234567',
      'training_seconds: 300.1',
      'peak_vram_mb:     22000.0',
      'mfu_percent:      n/a',
      'num_steps:        953',
      '',
    ].join('\r\n');
    const r = parseRunLog(log, { exitCode: 0, timedOut: false });
    expect(r.status).toBe('ok');
    if (r.status === 'ok') {
      expect(r.metrics.val_bpb).toBe(1.234567);
      expect(r.metrics.num_steps).toBe(953);
      expect(r.metrics.mfu_percent).toBeNull();
    }
    expect(parseProgress(log.split('\r\n---')[0]!)?.step).toBe(1);
  });
});

describe('POSIX', () => {
  it('finds only executable files on PATH', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ratchet-path-'));
    dirs.push(d);
    await writeFile(join(d, 'tool'), '#!/bin/sh\n');
    await writeFile(join(d, 'data'), 'not a program');
    await chmod(join(d, 'tool'), 0o755);
    const opts = { platform: 'linux' as const, env: { PATH: `/nonexistent:${d}` } };
    expect(findExecutable('tool', opts)).toBe(join(d, 'tool'));
    expect(findExecutable('data', opts)).toBeNull();
    expect(findExecutable('tool', { ...opts, env: { PATH: '' }, extraDirs: [d] })).toBe(join(d, 'tool'));
  });
});
