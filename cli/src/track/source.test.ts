import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, TrackConfig } from '@ratchet/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { cloneSource, collectTrackFiles, localOrigin, parseGitSource, readSnapshot } from './source.ts';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ratchet-src-'));
  dirs.push(d);
  return d;
}

describe('parseGitSource', () => {
  it('tells git URLs (with an optional #REF) from folders', () => {
    expect(parseGitSource('https://github.com/karpathy/autoresearch')).toEqual({
      url: 'https://github.com/karpathy/autoresearch',
      ref: null,
    });
    expect(parseGitSource('file:///srv/ar.git#v1.2')).toEqual({ url: 'file:///srv/ar.git', ref: 'v1.2' });
    expect(parseGitSource('git@github.com:miolini/autoresearch-macos.git#main')).toEqual({
      url: 'git@github.com:miolini/autoresearch-macos.git',
      ref: 'main',
    });
    expect(parseGitSource('../autoresearch')).toBeNull();
    expect(parseGitSource('C:\\Users\\lab\\autoresearch')).toBeNull();
  });

  it('refuses refs that are options or git revision syntax', () => {
    for (const bad of [
      'https://h/r#',
      'https://h/r#--upload-pack=sh',
      'https://h/r#a..b',
      'https://h/r#HEAD~1',
    ]) {
      expect(() => parseGitSource(bad), bad).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_INPUT }));
    }
  });
});

describe('cloneSource', () => {
  it('clones a real repository at a branch, a tag or a commit, and removes the clone', async () => {
    const repo = await tmp();
    const git = (...a: string[]) =>
      run('git', ['-c', 'user.name=t', '-c', 'user.email=t@x', ...a], { cwd: repo }).then((r) =>
        r.stdout.trim(),
      );
    await git('init', '-q', '--initial-branch', 'main');
    await writeFile(join(repo, 'train.py'), 'v = 1\n');
    await git('add', '-A');
    await git('commit', '-qm', 'one');
    const first = await git('rev-parse', 'HEAD');
    await git('tag', 'v1');
    await git('checkout', '-qb', 'exp');
    await writeFile(join(repo, 'train.py'), 'v = 2\n');
    await git('commit', '-qam', 'two');
    const exp = await git('rev-parse', 'HEAD');
    await git('checkout', '-q', 'main');
    for (const [ref, want] of [
      [null, first],
      ['v1', first],
      ['exp', exp],
      [first.slice(0, 10), first],
    ] as const) {
      const c = await cloneSource(`file://${repo}`, ref);
      expect(c.commit, String(ref)).toBe(want);
      const snap = await readSnapshot(c.dir);
      expect(snap.text['train.py']).toBe(want === exp ? 'v = 2\n' : 'v = 1\n');
      await c.remove();
    }
    await expect(cloneSource(`file://${repo}`, 'nope')).rejects.toMatchObject({ code: ErrorCodes.BAD_INPUT });
    await expect(cloneSource(`file://${repo}-missing`, null)).rejects.toMatchObject({
      code: ErrorCodes.GIT_FAILED,
    });
  }, 60_000);
});

describe('localOrigin', () => {
  it('names the remote and HEAD of a checkout, and nothing for a plain folder or a subfolder', async () => {
    const repo = await tmp();
    const git = (...a: string[]) =>
      run('git', ['-c', 'user.name=t', '-c', 'user.email=t@x', ...a], { cwd: repo }).then((r) =>
        r.stdout.trim(),
      );
    expect(await localOrigin(repo)).toBeNull();
    await git('init', '-q', '--initial-branch', 'main');
    expect(await localOrigin(repo)).toBeNull();
    await writeFile(join(repo, 'train.py'), 'v = 1\n');
    await git('add', '-A');
    await git('commit', '-qm', 'one');
    const head = await git('rev-parse', 'HEAD');
    expect(await localOrigin(repo)).toEqual({ url: repo, commit: head });
    await git('remote', 'add', 'origin', 'https://github.com/karpathy/autoresearch');
    expect(await localOrigin(repo)).toEqual({
      url: 'https://github.com/karpathy/autoresearch',
      commit: head,
    });
    await mkdir(join(repo, 'sub'));
    expect(await localOrigin(join(repo, 'sub'))).toBeNull();
  });
});

describe('collectTrackFiles', () => {
  it('takes only the files the track names, and says which one is missing', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'train.py'), 't');
    await writeFile(join(dir, 'prepare.py'), 'p');
    await writeFile(join(dir, 'program.md'), '# p');
    await writeFile(join(dir, 'results.tsv'), 'x');
    const cfg = TrackConfig.parse({
      id: 'x',
      editable: ['train.py'],
      pinned: ['prepare.py'],
      run: { default: ['python', 'train.py'] },
    });
    const files = await collectTrackFiles(dir, cfg);
    expect(Object.keys(files).sort()).toEqual(['prepare.py', 'program.md', 'ratchet.json', 'train.py']);
    expect(TrackConfig.parse(JSON.parse(files['ratchet.json']!))).toEqual(cfg);
    await expect(collectTrackFiles(dir, { ...cfg, pinned: ['uv.lock'] })).rejects.toMatchObject({
      code: ErrorCodes.TRACK_INVALID,
      message: expect.stringContaining('uv.lock'),
    });
  });
});
