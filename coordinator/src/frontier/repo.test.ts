import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFrontier } from './repo.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function frontier() {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-repo-'));
  dirs.push(dir);
  const f = createFrontier({ path: join(dir, 'frontier.git'), tmpDir: join(dir, 'tmp') });
  await f.init();
  return f;
}

const revParse = (repo: string, ref: string) =>
  execFileSync('git', ['rev-parse', ref], { cwd: repo, encoding: 'utf8' }).trim();

describe('the frontier repository', () => {
  it('reads heads without git, loose or packed, exactly as git does', async () => {
    const f = await frontier();
    const c0 = await f.importTrack('t', { 'train.py': 'A = 1\n' }, 'import');
    expect(await f.head('t')).toBe(c0);
    const patch = '--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-A = 1\n+A = 2\n';
    const c1 = await f.commitPatch({ trackId: 't', base: c0, patch, message: 'two' });
    expect(await f.head('t')).toBe(c1);
    expect(await f.head('t')).toBe(revParse(f.path, 'refs/heads/tracks/t'));
    execFileSync('git', ['pack-refs', '--all', '--prune'], { cwd: f.path });
    expect(await f.head('t')).toBe(c1);
    const c2 = await f.commitPatch({
      trackId: 't',
      base: c1,
      patch: '--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-A = 2\n+A = 3\n',
      message: 'three',
    });
    expect(await f.head('t')).toBe(c2);
    expect(await f.head('missing')).toBeNull();
  });

  it('serves files of a commit, the same each time', async () => {
    const f = await frontier();
    const c0 = await f.importTrack('t', { 'train.py': 'A = 1\n' }, 'import');
    expect(await f.readFile(c0, 'train.py')).toBe('A = 1\n');
    expect(await f.readFile(c0, 'train.py')).toBe('A = 1\n');
    await expect(f.readFile(c0, 'nope.py')).rejects.toMatchObject({ code: 'RATCHET_E_GIT_FAILED' });
    expect(await f.hasCommit(c0)).toBe(true);
    expect(await f.hasCommit('0'.repeat(40))).toBe(false);
  });
});
