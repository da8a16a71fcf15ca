/**
 * Patch policy: a proposal's unified diff may only modify the track's editable files,
 * in place. Everything else is rejected with its own stable code. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { type ErrorCode, ErrorCodes } from './errors.ts';

export const DEFAULT_PATCH_MAX_BYTES = 256 * 1024;

export interface PatchPolicy {
  editable: readonly string[];
  /** Size cap in bytes (default 256 KiB). */
  maxBytes?: number;
}

export type PatchCheck =
  | { ok: true; files: string[] }
  | { ok: false; code: ErrorCode; message: string; line?: number };

class Reject extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

function checkPath(raw: string, prefix: 'a/' | 'b/', lineNo: number): string {
  if (raw.startsWith('"')) throw new Reject(ErrorCodes.PATCH_QUOTED_PATH, `quoted path ${raw}`, lineNo);
  if (raw.includes('\\'))
    throw new Reject(ErrorCodes.PATCH_PATH_TRAVERSAL, `backslash in path ${raw}`, lineNo);
  if (raw.startsWith('/')) throw new Reject(ErrorCodes.PATCH_ABSOLUTE_PATH, `absolute path ${raw}`, lineNo);
  if (!raw.startsWith(prefix)) {
    throw new Reject(ErrorCodes.PATCH_NAME_MISMATCH, `path ${raw} does not start with ${prefix}`, lineNo);
  }
  const path = raw.slice(2);
  if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path)) {
    throw new Reject(ErrorCodes.PATCH_ABSOLUTE_PATH, `absolute path ${raw}`, lineNo);
  }
  const segments = path.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === '')) {
    throw new Reject(ErrorCodes.PATCH_PATH_TRAVERSAL, `path trick in ${raw}`, lineNo);
  }
  return path;
}

/** `--- a/x\t2026-01-01 …` → `a/x` (plain diff -u appends a timestamp after a tab). */
function headerPath(rest: string): string {
  const tab = rest.indexOf('\t');
  return (tab >= 0 ? rest.slice(0, tab) : rest).trimEnd();
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function checkModes(line: string, lineNo: number): void {
  const mode = /(\d{6})\s*$/.exec(line)?.[1];
  if (mode === '120000') throw new Reject(ErrorCodes.PATCH_SYMLINK, 'symlink in patch', lineNo);
  if (mode === '160000') throw new Reject(ErrorCodes.PATCH_SUBMODULE, 'submodule in patch', lineNo);
}

function checkExtendedHeader(line: string, lineNo: number): void {
  if (line.startsWith('index ')) {
    checkModes(line, lineNo);
    return;
  }
  if (line.startsWith('new file mode')) {
    checkModes(line, lineNo);
    throw new Reject(ErrorCodes.PATCH_NEW_FILE, 'patch creates a file', lineNo);
  }
  if (line.startsWith('deleted file mode')) {
    checkModes(line, lineNo);
    throw new Reject(ErrorCodes.PATCH_DELETED_FILE, 'patch deletes a file', lineNo);
  }
  if (line.startsWith('old mode') || line.startsWith('new mode')) {
    checkModes(line, lineNo);
    throw new Reject(ErrorCodes.PATCH_MODE_CHANGE, 'patch changes a file mode', lineNo);
  }
  if (/^(rename from|rename to|similarity index|dissimilarity index)/.test(line)) {
    throw new Reject(ErrorCodes.PATCH_RENAME, 'patch renames a file', lineNo);
  }
  if (/^(copy from|copy to)/.test(line))
    throw new Reject(ErrorCodes.PATCH_COPY, 'patch copies a file', lineNo);
  if (line.startsWith('GIT binary patch') || /^Binary files .* differ$/.test(line)) {
    throw new Reject(ErrorCodes.PATCH_BINARY, 'binary patch', lineNo);
  }
  throw new Reject(
    ErrorCodes.PATCH_NOT_A_DIFF,
    `unexpected line in diff header: ${line.slice(0, 80)}`,
    lineNo,
  );
}

function parseGitHeader(line: string, lineNo: number): string {
  const rest = line.slice('diff --git '.length);
  if (rest.startsWith('"') || rest.includes(' "')) {
    throw new Reject(ErrorCodes.PATCH_QUOTED_PATH, 'quoted path in diff --git header', lineNo);
  }
  const m = /^(a\/\S+) (b\/\S+)$/.exec(rest);
  if (!m) throw new Reject(ErrorCodes.PATCH_NAME_MISMATCH, `unparseable diff --git header: ${rest}`, lineNo);
  const a = checkPath(m[1]!, 'a/', lineNo);
  const b = checkPath(m[2]!, 'b/', lineNo);
  if (a !== b) throw new Reject(ErrorCodes.PATCH_RENAME, `a/${a} and b/${b} differ`, lineNo);
  return a;
}

function run(text: string, policy: PatchPolicy): string[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  // Trailing blank lines (an editor's final newline, say) carry nothing.
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const files: string[] = [];
  let i = 0;
  // Free text before the first header (a commit message, say) is allowed, as `git apply` allows it.
  while (i < lines.length && !lines[i]!.startsWith('diff --git ') && !lines[i]!.startsWith('--- ')) i++;
  if (i >= lines.length) throw new Reject(ErrorCodes.PATCH_NOT_A_DIFF, 'no diff header found');
  while (i < lines.length) {
    let gitName: string | null = null;
    if (lines[i]!.startsWith('diff --git ')) {
      gitName = parseGitHeader(lines[i]!, i + 1);
      i++;
      while (i < lines.length && !lines[i]!.startsWith('--- ') && !lines[i]!.startsWith('diff --git ')) {
        checkExtendedHeader(lines[i]!, i + 1);
        i++;
      }
    }
    const minus = lines[i];
    const plus = lines[i + 1];
    if (minus === undefined || !minus.startsWith('--- ') || plus === undefined || !plus.startsWith('+++ ')) {
      throw new Reject(ErrorCodes.PATCH_NOT_A_DIFF, 'expected ---/+++ file headers', i + 1);
    }
    const oldRaw = headerPath(minus.slice(4));
    const newRaw = headerPath(plus.slice(4));
    if (oldRaw === '/dev/null') throw new Reject(ErrorCodes.PATCH_NEW_FILE, 'patch creates a file', i + 1);
    if (newRaw === '/dev/null')
      throw new Reject(ErrorCodes.PATCH_DELETED_FILE, 'patch deletes a file', i + 2);
    const oldPath = checkPath(oldRaw, 'a/', i + 1);
    const newPath = checkPath(newRaw, 'b/', i + 2);
    if (oldPath !== newPath || (gitName !== null && gitName !== oldPath)) {
      throw new Reject(ErrorCodes.PATCH_NAME_MISMATCH, `mismatched names ${oldRaw} / ${newRaw}`, i + 1);
    }
    if (!policy.editable.includes(oldPath)) {
      throw new Reject(ErrorCodes.PATCH_OUTSIDE_EDITABLE, `${oldPath} is not an editable file`, i + 1);
    }
    if (files.includes(oldPath))
      throw new Reject(ErrorCodes.PATCH_MALFORMED_HUNK, `${oldPath} patched twice`, i + 1);
    files.push(oldPath);
    i += 2;
    i = readHunks(lines, i);
  }
  return files;
}

function readHunks(lines: string[], start: number): number {
  let i = start;
  let hunks = 0;
  while (i < lines.length && lines[i]!.startsWith('@@')) {
    const m = HUNK.exec(lines[i]!);
    if (!m) throw new Reject(ErrorCodes.PATCH_MALFORMED_HUNK, 'bad hunk header', i + 1);
    let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
    let newLeft = m[4] === undefined ? 1 : Number(m[4]);
    i++;
    while (oldLeft > 0 || newLeft > 0) {
      const l = lines[i];
      if (l === undefined) throw new Reject(ErrorCodes.PATCH_MALFORMED_HUNK, 'hunk ends early', i + 1);
      const c = l[0];
      if (c === ' ' || l === '') {
        oldLeft--;
        newLeft--;
      } else if (c === '-') oldLeft--;
      else if (c === '+') newLeft--;
      else if (c !== '\\')
        throw new Reject(ErrorCodes.PATCH_MALFORMED_HUNK, 'unexpected line inside a hunk', i + 1);
      if (oldLeft < 0 || newLeft < 0)
        throw new Reject(ErrorCodes.PATCH_MALFORMED_HUNK, 'hunk line counts wrong', i + 1);
      i++;
    }
    while (lines[i]?.startsWith('\\')) i++;
    hunks++;
  }
  if (hunks === 0) throw new Reject(ErrorCodes.PATCH_MALFORMED_HUNK, 'file section without hunks', i + 1);
  if (i < lines.length && !lines[i]!.startsWith('diff --git ') && !lines[i]!.startsWith('--- ')) {
    throw new Reject(
      ErrorCodes.PATCH_MALFORMED_HUNK,
      `unexpected text after hunk: ${lines[i]!.slice(0, 80)}`,
      i + 1,
    );
  }
  return i;
}

export function checkPatch(patch: string, policy: PatchPolicy): PatchCheck {
  const maxBytes = policy.maxBytes ?? DEFAULT_PATCH_MAX_BYTES;
  const bytes = Buffer.byteLength(patch, 'utf8');
  if (bytes > maxBytes) {
    return {
      ok: false,
      code: ErrorCodes.PATCH_TOO_LARGE,
      message: `patch is ${bytes} bytes, cap ${maxBytes}`,
    };
  }
  if (patch.trim() === '') return { ok: false, code: ErrorCodes.PATCH_EMPTY, message: 'patch is empty' };
  if (patch.includes('\0'))
    return { ok: false, code: ErrorCodes.PATCH_BINARY, message: 'patch contains NUL bytes' };
  try {
    return { ok: true, files: run(patch, policy) };
  } catch (e) {
    if (e instanceof Reject) {
      return e.line === undefined
        ? { ok: false, code: e.code, message: e.message }
        : { ok: false, code: e.code, message: `line ${e.line}: ${e.message}`, line: e.line };
    }
    throw e;
  }
}

/** The patch without what does not change its meaning: CRLF, `index` lines, preamble. */
export function normalisePatch(patch: string): string {
  const lines = patch.replace(/\r\n/g, '\n').split('\n');
  const first = lines.findIndex((l) => l.startsWith('diff --git ') || l.startsWith('--- '));
  return lines
    .slice(Math.max(first, 0))
    .filter((l) => !l.startsWith('index '))
    .map((l) => (l.startsWith('--- ') || l.startsWith('+++ ') ? headerPath(l) : l))
    .join('\n')
    .trimEnd();
}

export function patchHash(patch: string): string {
  return createHash('sha256').update(normalisePatch(patch)).digest('hex');
}
