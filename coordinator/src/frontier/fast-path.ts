/**
 * Checking and rebasing a patch without spawning git, for the common case: text files
 * modified in place. Changes of the head and of the patch a context's width apart merge as
 * git merges them; closer ones as `resolve.ts` merges them after git, with the same source
 * check. Both sides changing a common line is a conflict here too, reported with its region
 * (git is stricter, so it would call it one as well): conflicts are frequent with many
 * workers, and each cost a dozen git spawns. Everything else returns null and goes to git
 * (`repo.ts`). Files of a commit are read through the frontier's cache.
 */

import { conflictText, lineHunks, mergeLines } from './line-merge.ts';
import type { ComposeResult, RebaseResult } from './repo.ts';
import type { SourceCheck } from './resolve.ts';
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

/**
 * The patch rebased onto `head` when that is certain without git; null otherwise. Changes
 * closer than git's context merge as `resolve.ts` would merge them after git, and must pass
 * the same source check.
 */
export async function quickRebase(
  read: ReadFile,
  base: string,
  patch: string,
  head: string,
  check?: SourceCheck,
): Promise<RebaseResult | null> {
  const files = await patched(read, base, patch);
  if (!files) return null;
  const parts: string[] = [];
  const conflicts: { path: string; hunk: string }[] = [];
  for (const f of files) {
    const theirs = await read(head, f.path).catch(() => null);
    if (theirs === null || !theirs.endsWith('\n')) return null;
    const b = f.before.split('\n');
    const ours = lineHunks(b, theirs.split('\n'));
    const mine = lineHunks(b, f.after.split('\n'));
    const near = ours.some((o) => mine.some((m) => m.start - o.end <= APART && o.start - m.end <= APART));
    const m = mergeLines(f.before, theirs, f.after);
    // Both sides changed a common line: git would call it a conflict too (it is stricter).
    if (m.status !== 'merged') {
      conflicts.push({ path: f.path, hunk: conflictText(f.before, theirs, f.after) });
      continue;
    }
    if (near && check && (await check(f.path, m.text)) !== null) return null;
    parts.push(formatPatch(f.path, theirs, m.text));
  }
  if (conflicts.length > 0)
    return { status: 'conflict', hunk: conflicts[0]!.hunk, files: conflicts.map((c) => c.path) };
  return { status: 'clean', patch: parts.join('') };
}

/**
 * Several (base, patch) merged onto `head` one after another, as `Frontier.compose` does, when
 * every one merges without git; null when any of them needs git (a conflict, an unusual patch).
 */
export async function quickCompose(
  read: ReadFile,
  head: string,
  items: { base: string; patch: string }[],
  check?: SourceCheck,
): Promise<ComposeResult | null> {
  const cur = new Map<string, string>();
  const outcomes: ComposeResult['outcomes'] = [];
  for (const it of items) {
    const files = await patched(read, it.base, it.patch);
    if (!files) return null;
    const next = new Map<string, string>();
    let changes = false;
    let conflict: string | null = null;
    for (const f of files) {
      const now = cur.get(f.path) ?? (await read(head, f.path).catch(() => null));
      if (now === null || !now.endsWith('\n')) return null;
      const m = mergeLines(f.before, now, f.after);
      if (m.status !== 'merged') {
        conflict ??= conflictText(f.before, now, f.after);
        continue;
      }
      const b = f.before.split('\n');
      const ours = lineHunks(b, now.split('\n'));
      const mine = lineHunks(b, f.after.split('\n'));
      const near = ours.some((o) => mine.some((x) => x.start - o.end <= APART && o.start - x.end <= APART));
      if (near && check && (await check(f.path, m.text)) !== null) return null;
      if (m.text !== now) changes = true;
      next.set(f.path, m.text);
    }
    if (conflict !== null) {
      // This one stays out of the union; the others go on composing.
      outcomes.push({ status: 'conflict', hunk: conflict });
      continue;
    }
    if (!changes) {
      outcomes.push({ status: 'empty' });
      continue;
    }
    for (const [path, text] of next) cur.set(path, text);
    outcomes.push({ status: 'included' });
  }
  const parts: string[] = [];
  for (const [path, text] of [...cur].sort(([a], [b]) => a.localeCompare(b)))
    parts.push(formatPatch(path, await read(head, path), text));
  return { patch: parts.join(''), outcomes };
}
