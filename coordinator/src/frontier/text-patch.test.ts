import { unifiedDiff } from '@ratchet/proposers';
import { describe, expect, it } from 'vitest';
import { applyHunks, formatPatch, parsePatch } from './text-patch.ts';

const FILE = `${Array.from({ length: 30 }, (_, i) => `L${i} = ${i}`).join('\n')}\n`;
const edit = (text: string, line: number, value: string) =>
  text.replace(new RegExp(`^L${line} = .*$`, 'm'), `L${line} = ${value}`);

describe('unified diffs in process', () => {
  it('applies a patch exactly as written, and refuses one whose context differs', () => {
    const after = edit(edit(FILE, 3, 'x'), 20, 'y');
    const files = parsePatch(formatPatch('train.py', FILE, after))!;
    expect(files.map((f) => f.path)).toEqual(['train.py']);
    expect(files[0]!.hunks).toHaveLength(2);
    expect(applyHunks(FILE, files[0]!.hunks)).toBe(after);
    expect(applyHunks(edit(FILE, 2, 'changed'), files[0]!.hunks)).toBeNull();
  });

  it('reads the patches proposers and git write, with insertions and deletions', () => {
    const inserted = FILE.replace('L5 = 5\n', 'L5 = 5\nNEW = 1\n');
    expect(applyHunks(FILE, parsePatch(unifiedDiff('train.py', FILE, inserted))![0]!.hunks)).toBe(inserted);
    const deleted = FILE.replace('L0 = 0\n', '');
    expect(applyHunks(FILE, parsePatch(formatPatch('train.py', FILE, deleted))![0]!.hunks)).toBe(deleted);
    const git = [
      'diff --git a/train.py b/train.py',
      'index 1111111..2222222 100644',
      ...formatPatch('train.py', FILE, edit(FILE, 29, 'z')).split('\n'),
    ].join('\n');
    expect(applyHunks(FILE, parsePatch(git)![0]!.hunks)).toBe(edit(FILE, 29, 'z'));
  });

  it('leaves new, deleted or renamed files, modes and missing final newlines to git', () => {
    const body = formatPatch('train.py', FILE, edit(FILE, 1, 'q'));
    expect(parsePatch(`diff --git a/x b/x\nnew file mode 100644\n${body}`)).toBeNull();
    expect(parsePatch(`diff --git a/x b/y\nrename from x\n${body}`)).toBeNull();
    expect(parsePatch(`${body}\\ No newline at end of file\n`)).toBeNull();
    expect(parsePatch('not a patch')).toBeNull();
  });

  it('writes nothing for equal texts', () => {
    expect(formatPatch('train.py', FILE, FILE)).toBe('');
  });
});
