/**
 * The in-process rebase and compose: a change of a line the head also changed is a conflict,
 * reported with its region, without asking git; the other members of a union still compose.
 */
import { unifiedDiff } from '@ratchet/proposers';
import { describe, expect, it } from 'vitest';
import { quickCompose, quickRebase } from './fast-path.ts';

const TRAIN = ['# constants', 'DEPTH = 8', 'MATRIX_LR = 0.04', 'WARMUP = 0.1', 'print(DEPTH)', ''].join('\n');
const set = (text: string, name: string, value: string) =>
  text.replace(new RegExp(`^${name} = .*$`, 'm'), `${name} = ${value}`);

/** Commits as a map of their train.py. */
function repo(commits: Record<string, string>) {
  return async (commit: string, path: string) => {
    const text = commits[commit];
    if (path !== 'train.py' || text === undefined) throw new Error(`no ${commit}:${path}`);
    return text;
  };
}

describe('the in-process rebase', () => {
  it('reports a change of the line the head changed as a conflict, with both sides', async () => {
    const read = repo({ base: TRAIN, head: set(TRAIN, 'MATRIX_LR', '0.05') });
    const patch = unifiedDiff('train.py', TRAIN, set(TRAIN, 'MATRIX_LR', '0.03'));
    const r = await quickRebase(read, 'base', patch, 'head');
    expect(r).toMatchObject({ status: 'conflict', files: ['train.py'] });
    if (r?.status !== 'conflict') return;
    expect(r.hunk).toContain('<<<<<<<');
    expect(r.hunk).toContain('MATRIX_LR = 0.05');
    expect(r.hunk).toContain('MATRIX_LR = 0.03');
  });

  it('still merges a change of the neighbouring line', async () => {
    const read = repo({ base: TRAIN, head: set(TRAIN, 'MATRIX_LR', '0.05') });
    const patch = unifiedDiff('train.py', TRAIN, set(TRAIN, 'WARMUP', '0.2'));
    expect(await quickRebase(read, 'base', patch, 'head')).toMatchObject({ status: 'clean' });
  });
});

describe('the in-process compose', () => {
  it('leaves a conflicting member out and composes the others', async () => {
    const read = repo({ base: TRAIN, head: TRAIN });
    const of = (name: string, value: string) => ({
      base: 'base',
      patch: unifiedDiff('train.py', TRAIN, set(TRAIN, name, value)),
    });
    const r = await quickCompose(read, 'head', [of('DEPTH', '10'), of('DEPTH', '12'), of('WARMUP', '0.2')]);
    expect(r?.outcomes.map((o) => o.status)).toEqual(['included', 'conflict', 'included']);
    expect(r?.patch).toContain('+DEPTH = 10');
    expect(r?.patch).toContain('+WARMUP = 0.2');
    expect(r?.patch).not.toContain('DEPTH = 12');
  });
});
