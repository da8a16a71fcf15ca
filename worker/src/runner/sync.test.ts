import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackSync } from '@ratchet/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSynced } from './sync.ts';

const PYTHON = process.env.RATCHET_TEST_PYTHON ?? '/usr/bin/python3';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// A real process in the role of `uv sync`: it fills the folder the track names and counts its runs.
const SYNC: TrackSync = {
  argv: [
    PYTHON,
    '-c',
    'import os; d = os.environ["UV_PROJECT_ENVIRONMENT"]; os.makedirs(d, exist_ok=True); open(os.path.join(d, "synced"), "a").write("x")',
  ],
  lockfile: 'uv.lock',
  envDirVar: 'UV_PROJECT_ENVIRONMENT',
  timeoutS: 60,
};

describe('ensureSynced', () => {
  it('syncs once per lockfile hash into a cached environment that later checkouts reuse', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'ratchet-sync-'));
    const a = await mkdtemp(join(tmpdir(), 'ratchet-co-'));
    const b = await mkdtemp(join(tmpdir(), 'ratchet-co-'));
    dirs.push(cacheDir, a, b);
    await writeFile(join(a, 'uv.lock'), 'version = 1\n');
    await writeFile(join(b, 'uv.lock'), 'version = 1\n');
    const base = { sync: SYNC, cacheDir, env: { PATH: process.env.PATH }, hardTimeoutS: 60 };
    const first = await ensureSynced({ ...base, cwd: a });
    expect(first).toMatchObject({ ok: true, cached: false });
    const envDir = first.ok ? first.env.UV_PROJECT_ENVIRONMENT! : '';
    expect(envDir.startsWith(join(cacheDir, 'envs'))).toBe(true);
    const again = await ensureSynced({ ...base, cwd: b });
    expect(again).toEqual({ ok: true, cached: true, env: { UV_PROJECT_ENVIRONMENT: envDir } });
    expect(await readFile(join(envDir, 'synced'), 'utf8')).toBe('x');
    // A new lockfile is a new environment.
    await writeFile(join(b, 'uv.lock'), 'version = 2\n');
    const changed = await ensureSynced({ ...base, cwd: b });
    expect(changed).toMatchObject({ ok: true, cached: false });
    expect((await readdir(join(cacheDir, 'envs'))).length).toBe(2);
  });

  it('reports a failing sync and a missing lockfile, and does nothing without a sync', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'ratchet-sync-'));
    dirs.push(cacheDir);
    await writeFile(join(cacheDir, 'uv.lock'), 'v\n');
    const base = { cacheDir, cwd: cacheDir, env: { PATH: process.env.PATH }, hardTimeoutS: 60 };
    const bad = await ensureSynced({
      ...base,
      sync: { ...SYNC, argv: [PYTHON, '-c', 'print("resolution failed"); raise SystemExit(3)'] },
    });
    expect(bad).toMatchObject({ ok: false, log: expect.stringContaining('resolution failed') });
    expect(bad.ok ? '' : bad.message).toMatch(/environment sync .* failed \(exit 3\)/);
    const noTool = await ensureSynced({ ...base, sync: { ...SYNC, argv: ['ratchet-no-such-uv', 'sync'] } });
    expect(noTool.ok ? '' : noTool.message).toMatch(/cannot start ratchet-no-such-uv: .*ENOENT/);
    const missing = await ensureSynced({ ...base, sync: { ...SYNC, lockfile: 'other.lock' } });
    expect(missing).toMatchObject({ ok: false, message: 'the track has no other.lock to sync from' });
    expect(await ensureSynced({ ...base, sync: null })).toEqual({ ok: true, cached: true, env: {} });
  });
});
