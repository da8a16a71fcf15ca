import { describe, expect, it } from 'vitest';
import { ErrorCodes } from './errors.ts';
import { checkPatch, patchHash } from './patch-policy.ts';

const policy = { editable: ['train.py'] };
const hunk = ['@@ -1,1 +1,1 @@', '-LR = 0.1', '+LR = 0.2'];
const gitDiff = (header: string[], body = hunk) => [...header, ...body, ''].join('\n');
const GOOD = gitDiff([
  'diff --git a/train.py b/train.py',
  'index 1111111..2222222 100644',
  '--- a/train.py',
  '+++ b/train.py',
]);

function code(patch: string, p: { editable: string[]; maxBytes?: number } = policy) {
  const r = checkPatch(patch, p);
  return r.ok ? 'ok' : r.code;
}

describe('checkPatch', () => {
  it('accepts an in-place edit of an editable file (git and plain diff -u forms)', () => {
    expect(checkPatch(GOOD, policy)).toEqual({ ok: true, files: ['train.py'] });
    const plain = [
      '--- a/train.py\t2026-01-01 00:00:00',
      '+++ b/train.py\t2026-01-01 00:00:01',
      ...hunk,
      '',
    ].join('\n');
    expect(code(plain)).toBe('ok');
    expect(code(GOOD.replace(/\n/g, '\r\n'))).toBe('ok');
  });

  it('rejects empty and non-diff input', () => {
    expect(code('')).toBe(ErrorCodes.PATCH_EMPTY);
    expect(code('  \n\n')).toBe(ErrorCodes.PATCH_EMPTY);
    expect(code('please make it faster')).toBe(ErrorCodes.PATCH_NOT_A_DIFF);
    expect(code('--- a/train.py\nnothing else\n')).toBe(ErrorCodes.PATCH_NOT_A_DIFF);
  });

  it('rejects patches over the size cap', () => {
    expect(code(GOOD, { editable: ['train.py'], maxBytes: 50 })).toBe(ErrorCodes.PATCH_TOO_LARGE);
    const big = gitDiff(
      ['--- a/train.py', '+++ b/train.py'],
      ['@@ -1,1 +1,1 @@', '-a', `+${'x'.repeat(300 * 1024)}`],
    );
    expect(code(big)).toBe(ErrorCodes.PATCH_TOO_LARGE);
  });

  it('rejects files that are not editable, including .git and .gitattributes', () => {
    for (const f of ['prepare.py', '.git/config', '.gitattributes', 'sub/train.py']) {
      expect(code(gitDiff([`diff --git a/${f} b/${f}`, `--- a/${f}`, `+++ b/${f}`])), f).toBe(
        ErrorCodes.PATCH_OUTSIDE_EDITABLE,
      );
    }
  });

  it('rejects new files, deletions, renames, copies and mode changes', () => {
    expect(
      code(
        gitDiff(
          ['diff --git a/train.py b/train.py', 'new file mode 100644', '--- /dev/null', '+++ b/train.py'],
          ['@@ -0,0 +1,1 @@', '+x'],
        ),
      ),
    ).toBe(ErrorCodes.PATCH_NEW_FILE);
    expect(code(gitDiff(['--- /dev/null', '+++ b/train.py'], ['@@ -0,0 +1,1 @@', '+x']))).toBe(
      ErrorCodes.PATCH_NEW_FILE,
    );
    expect(
      code(
        gitDiff(
          ['diff --git a/train.py b/train.py', 'deleted file mode 100644', '--- a/train.py', '+++ /dev/null'],
          ['@@ -1,1 +0,0 @@', '-x'],
        ),
      ),
    ).toBe(ErrorCodes.PATCH_DELETED_FILE);
    expect(
      code(
        gitDiff([
          'diff --git a/train.py b/train.py',
          'similarity index 100%',
          'rename from train.py',
          'rename to train.py',
        ]),
      ),
    ).toBe(ErrorCodes.PATCH_RENAME);
    expect(code(gitDiff(['diff --git a/prepare.py b/train.py', '--- a/prepare.py', '+++ b/train.py']))).toBe(
      ErrorCodes.PATCH_RENAME,
    );
    expect(
      code(gitDiff(['diff --git a/train.py b/train.py', 'copy from train.py', 'copy to train.py'])),
    ).toBe(ErrorCodes.PATCH_COPY);
    expect(code(gitDiff(['diff --git a/train.py b/train.py', 'old mode 100644', 'new mode 100755']))).toBe(
      ErrorCodes.PATCH_MODE_CHANGE,
    );
  });

  it('rejects symlinks, submodules and binary patches', () => {
    expect(
      code(
        gitDiff([
          'diff --git a/train.py b/train.py',
          'new file mode 120000',
          '--- /dev/null',
          '+++ b/train.py',
        ]),
      ),
    ).toBe(ErrorCodes.PATCH_SYMLINK);
    expect(
      code(
        gitDiff([
          'diff --git a/train.py b/train.py',
          'index 1111111..2222222 120000',
          '--- a/train.py',
          '+++ b/train.py',
        ]),
      ),
    ).toBe(ErrorCodes.PATCH_SYMLINK);
    expect(
      code(
        gitDiff([
          'diff --git a/train.py b/train.py',
          'index 1111111..2222222 160000',
          '--- a/train.py',
          '+++ b/train.py',
        ]),
      ),
    ).toBe(ErrorCodes.PATCH_SUBMODULE);
    expect(
      code(
        [
          'diff --git a/train.py b/train.py',
          'index 1111111..2222222 100644',
          'GIT binary patch',
          'literal 3',
          'abc',
          '',
        ].join('\n'),
      ),
    ).toBe(ErrorCodes.PATCH_BINARY);
    expect(
      code(
        ['diff --git a/train.py b/train.py', 'Binary files a/train.py and b/train.py differ', ''].join('\n'),
      ),
    ).toBe(ErrorCodes.PATCH_BINARY);
    expect(code(`${GOOD}\0`)).toBe(ErrorCodes.PATCH_BINARY);
  });

  it('rejects absolute paths, .. and backslash tricks', () => {
    expect(code(gitDiff(['--- /etc/passwd', '+++ /etc/passwd']))).toBe(ErrorCodes.PATCH_ABSOLUTE_PATH);
    expect(code(gitDiff(['--- a//train.py', '+++ b//train.py']))).toBe(ErrorCodes.PATCH_ABSOLUTE_PATH);
    expect(
      code(gitDiff(['diff --git a/../train.py b/../train.py', '--- a/../train.py', '+++ b/../train.py'])),
    ).toBe(ErrorCodes.PATCH_PATH_TRAVERSAL);
    expect(code(gitDiff(['--- a/x/../train.py', '+++ b/x/../train.py']))).toBe(
      ErrorCodes.PATCH_PATH_TRAVERSAL,
    );
    expect(code(gitDiff(['--- a/..\\train.py', '+++ b/..\\train.py']))).toBe(ErrorCodes.PATCH_PATH_TRAVERSAL);
    expect(code(gitDiff(['--- a/./train.py', '+++ b/./train.py']))).toBe(ErrorCodes.PATCH_PATH_TRAVERSAL);
  });

  it('rejects quoted and mismatched a/ b/ names', () => {
    expect(
      code(gitDiff(['diff --git "a/train.py" "b/train.py"', '--- "a/train.py"', '+++ "b/train.py"'])),
    ).toBe(ErrorCodes.PATCH_QUOTED_PATH);
    expect(code(gitDiff(['--- "a/train.py"', '+++ "b/train.py"']))).toBe(ErrorCodes.PATCH_QUOTED_PATH);
    expect(code(gitDiff(['--- train.py', '+++ train.py']))).toBe(ErrorCodes.PATCH_NAME_MISMATCH);
    expect(code(gitDiff(['--- b/train.py', '+++ a/train.py']))).toBe(ErrorCodes.PATCH_NAME_MISMATCH);
    expect(code(gitDiff(['--- a/train.py', '+++ b/prepare.py']))).toBe(ErrorCodes.PATCH_NAME_MISMATCH);
    expect(code(gitDiff(['diff --git a/train.py b/train.py', '--- a/other.py', '+++ b/other.py']))).toBe(
      ErrorCodes.PATCH_NAME_MISMATCH,
    );
  });

  it('rejects malformed hunks', () => {
    expect(code(gitDiff(['--- a/train.py', '+++ b/train.py'], ['@@ -1,2 +1,1 @@', '-a', '+b']))).toBe(
      ErrorCodes.PATCH_MALFORMED_HUNK,
    );
    expect(code(gitDiff(['--- a/train.py', '+++ b/train.py'], ['@@ bogus @@', '-a']))).toBe(
      ErrorCodes.PATCH_MALFORMED_HUNK,
    );
    expect(code(gitDiff(['--- a/train.py', '+++ b/train.py'], []))).toBe(ErrorCodes.PATCH_MALFORMED_HUNK);
    expect(code(`${GOOD}trailing garbage\n`)).toBe(ErrorCodes.PATCH_MALFORMED_HUNK);
  });
});

describe('patchHash', () => {
  it('ignores index lines, CRLF, timestamps and preambles, not content', () => {
    const plain = ['Subject: try', '', '--- a/train.py\t2026', '+++ b/train.py\t2026', ...hunk, ''].join(
      '\n',
    );
    const git = ['--- a/train.py', '+++ b/train.py', ...hunk, ''].join('\r\n');
    expect(patchHash(plain)).toBe(patchHash(git));
    expect(patchHash(git)).not.toBe(patchHash(git.replace('0.2', '0.3')));
  });
});
