/**
 * Checking and rebasing a patch without spawning git, for the common case: text files
 * modified in place, and on a rebase, changes of the head and of the patch at least a
 * context's width apart, which git's 3-way merge also merges cleanly. Everything else returns
 * null and goes to git (`repo.ts`), which also reports conflicts with their hunks and checks
 * merges of neighbouring lines. Files of a commit are read through the frontier's cache.
 */

import { lineHunks, mergeLines } from './line-merge.ts';
import type { RebaseResult } from './repo.ts';
import { applyHunks, formatPatch, parsePatch } from './text-patch.ts';

type ReadFile = (commit: string, path: string) => Promise<string>;

/** Git's merge needs this many unchanged lines between the two sides' changes. */
const APART = 3;

async function patched(read: ReadFile, base: string, patch: string) {
  const files = parsePatch(patch);
  if (!files) return null;
  const out: { path: string; before: string; after: string }[] = [];
  for (const f of files) {
    const before = await read(base, f.path).catch(() => null);
    if (before === null) return null;
    const after = applyHunks(before, f.hunks);
    if (after === null) return null;
    out.push({ path: f.path, before, after });
  }
  return out;
}

/** True when the patch applies to `base`; null when only git can tell. */
export async function quickCheckApply(read: ReadFile, base: string, patch: string): Promise<true | null> {
  return (await patched(read, base, patch)) ? true : null;
}

/** The patch rebased onto `head` when that is certain without git; null otherwise. */
export async function quickRebase(
  read: ReadFile,
  base: string,
  patch: string,
  head: string,
): Promise<RebaseResult | null> {
  const files = await patched(read, base, patch);
  if (!files) return null;
  const parts: string[] = [];
  for (const f of files) {
    const theirs = await read(head, f.path).catch(() => null);
    if (theirs === null || !theirs.endsWith('\n')) return null;
    const b = f.before.split('\n');
    const ours = lineHunks(b, theirs.split('\n'));
    const mine = lineHunks(b, f.after.split('\n'));
    const near = ours.some((o) => mine.some((m) => m.start - o.end <= APART && o.start - m.end <= APART));
    if (near) return null;
    const m = mergeLines(f.before, theirs, f.after);
    if (m.status !== 'merged') return null;
    parts.push(formatPatch(f.path, theirs, m.text));
  }
  return { status: 'clean', patch: parts.join('') };
}
