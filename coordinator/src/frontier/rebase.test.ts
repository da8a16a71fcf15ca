/**
 * Rebasing and composing patches with a real git repository: changes to neighbouring lines
 * merge (git's 3-way merge calls them a conflict), real overlaps stay conflicts, and a merged
 * file that fails the source check is a conflict too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '@ratchet/proposers';
import { afterAll, describe, expect, it } from 'vitest';
import { createFrontier } from './repo.ts';
import type { SourceCheck } from './resolve.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const TRAIN = [
  '# constants on adjacent lines, as in upstream train.py',
  'DEPTH = 8',
  'MATRIX_LR = 0.04',
  'WARMUP = 0.1',
  'print(DEPTH)',
  '',
].join('\n');
const set = (text: string, name: string, value: string) =>
  text.replace(new RegExp(`^${name} = .*$`, 'm'), `${name} = ${value}`);

async function track(check?: SourceCheck) {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-rebase-'));
  dirs.push(dir);
  const f = createFrontier({
    path: join(dir, 'frontier.git'),
    tmpDir: join(dir, 'tmp'),
    ...(check ? { check } : {}),
  });
  await f.init();
  const base = await f.importTrack('t', { 'train.py': TRAIN }, 'import');
  const patchOf = (text: string) => unifiedDiff('train.py', TRAIN, text);
  /** Merge a change of the base: the new head. */
  const land = async (text: string) =>
    f.commitPatch({ trackId: 't', base, patch: patchOf(text), message: 'merged' });
  return { f, base, patchOf, land };
}

describe('rebasing onto a moved head', () => {
  it('merges a change of the line next to one the head changed', async () => {
    const { f, base, patchOf, land } = await track();
    const head = await land(set(TRAIN, 'DEPTH', '10'));
    const r = await f.rebase(base, patchOf(set(TRAIN, 'MATRIX_LR', '0.03')), head);
    expect(r.status).toBe('clean');
    if (r.status !== 'clean') return;
    const t2 = await f.commitPatch({ trackId: 't', base: head, patch: r.patch, message: 'second' });
    expect(await f.readFile(t2, 'train.py')).toBe(set(set(TRAIN, 'DEPTH', '10'), 'MATRIX_LR', '0.03'));
  });

  it('keeps a change of the same line a conflict, with the hunk', async () => {
    const { f, base, patchOf, land } = await track();
    const head = await land(set(TRAIN, 'MATRIX_LR', '0.05'));
    const r = await f.rebase(base, patchOf(set(TRAIN, 'MATRIX_LR', '0.03')), head);
    expect(r.status).toBe('conflict');
    if (r.status === 'conflict') expect(r.hunk).toContain('<<<<<<<');
  });

  it('finds nothing left when the head already made the same change', async () => {
    const { f, base, patchOf, land } = await track();
    const head = await land(set(set(TRAIN, 'DEPTH', '10'), 'WARMUP', '0.2'));
    const r = await f.rebase(base, patchOf(set(TRAIN, 'WARMUP', '0.2')), head);
    expect(r).toEqual({ status: 'clean', patch: '' });
  });

  it('reports a neighbouring merge that fails the source check as a conflict', async () => {
    const check: SourceCheck = async (_path, source) =>
      source.includes('DEPTH = 10') && source.includes('MATRIX_LR = 0.03') ? 'does not compile' : null;
    const { f, base, patchOf, land } = await track(check);
    const head = await land(set(TRAIN, 'DEPTH', '10'));
    expect((await f.rebase(base, patchOf(set(TRAIN, 'MATRIX_LR', '0.03')), head)).status).toBe('conflict');
    // A change git merges by itself needs no extra check.
    expect((await f.rebase(base, patchOf(set(TRAIN, 'WARMUP', '0.3')), head)).status).toBe('clean');
  });

  it('composes winners that changed neighbouring constants into one patch', async () => {
    const { f, base, patchOf, land } = await track();
    const head = await land(set(TRAIN, 'DEPTH', '10'));
    const c = await f.compose(head, [
      { base, patch: patchOf(set(TRAIN, 'MATRIX_LR', '0.03')) },
      { base, patch: patchOf(set(TRAIN, 'WARMUP', '0.2')) },
      { base, patch: patchOf(set(TRAIN, 'WARMUP', '0.3')) },
    ]);
    expect(c.outcomes.map((o) => o.status)).toEqual(['included', 'included', 'conflict']);
    const t2 = await f.commitPatch({ trackId: 't', base: head, patch: c.patch, message: 'batch' });
    expect(await f.readFile(t2, 'train.py')).toBe(
      set(set(set(TRAIN, 'DEPTH', '10'), 'MATRIX_LR', '0.03'), 'WARMUP', '0.2'),
    );
  });

  it('rebases without git exactly as with it, for changes far apart', async () => {
    const long = `${TRAIN}${Array.from({ length: 12 }, (_, i) => `K${i} = ${i}`).join('\n')}\n`;
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-rebase-'));
    dirs.push(dir);
    const f = createFrontier({ path: join(dir, 'frontier.git'), tmpDir: join(dir, 'tmp') });
    await f.init();
    const base = await f.importTrack('t', { 'train.py': long }, 'import');
    const head = await f.commitPatch({
      trackId: 't',
      base,
      patch: unifiedDiff('train.py', long, set(long, 'K10', '100')),
      message: 'merged',
    });
    const r = await f.rebase(base, unifiedDiff('train.py', long, set(long, 'DEPTH', '10')), head);
    if (r.status !== 'clean') throw new Error('expected a clean rebase');
    expect(r.patch).not.toContain('K10');
    const t2 = await f.commitPatch({ trackId: 't', base: head, patch: r.patch, message: 'second' });
    expect(await f.readFile(t2, 'train.py')).toBe(set(set(long, 'K10', '100'), 'DEPTH', '10'));
    expect(await f.checkApply(head, r.patch)).toEqual({ ok: true });
  });

  it('composes without git: the union of the changes, and a change the head holds is empty', async () => {
    const { f, base, patchOf, land } = await track();
    const head = await land(set(TRAIN, 'DEPTH', '10'));
    const c = await f.compose(head, [
      { base, patch: patchOf(set(TRAIN, 'DEPTH', '10')) },
      { base, patch: patchOf(set(TRAIN, 'MATRIX_LR', '0.03')) },
      { base, patch: patchOf(set(TRAIN, 'WARMUP', '0.2')) },
    ]);
    expect(c.outcomes.map((o) => o.status)).toEqual(['empty', 'included', 'included']);
    const t2 = await f.commitPatch({ trackId: 't', base: head, patch: c.patch, message: 'batch' });
    expect(await f.readFile(t2, 'train.py')).toBe(
      set(set(set(TRAIN, 'DEPTH', '10'), 'MATRIX_LR', '0.03'), 'WARMUP', '0.2'),
    );
  });
});
