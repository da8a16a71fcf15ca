/**
 * After `git merge-tree` reported conflicts: retry each conflicted file with the line merge
 * that lets both sides change neighbouring lines (`line-merge.ts`), and check the merged
 * source (`check`, e.g. a Python compile check). The merged tree when every conflicted file
 * merges and passes; null when a real overlap (or anything but a content conflict) remains.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { mergeLines } from './line-merge.ts';

/** A source check after a merge git itself would not make: an error message, or null. */
export type SourceCheck = (path: string, source: string) => Promise<string | null>;

async function blob(
  g: SimpleGit,
  commit: string,
  file: string,
): Promise<{ mode: string; text: string } | null> {
  const ls = (await g.raw(['ls-tree', commit, '--', file])).trim();
  const mode = ls.split(/\s+/)[0];
  if (!ls || (mode !== '100644' && mode !== '100755')) return null;
  return { mode, text: await g.raw(['show', `${commit}:${file}`]) };
}

export async function resolveNeighbouring(
  g: SimpleGit,
  dir: string,
  o: {
    base: string;
    onto: string;
    candidate: string;
    mergedTree: string;
    files: string[];
    check?: SourceCheck;
  },
): Promise<string | null> {
  if (o.files.length === 0) return null;
  const merged: { file: string; mode: string; text: string }[] = [];
  for (const file of o.files) {
    const [b, ours, theirs] = await Promise.all([
      blob(g, o.base, file),
      blob(g, o.onto, file),
      blob(g, o.candidate, file),
    ]);
    if (!b || !ours || !theirs) return null;
    const m = mergeLines(b.text, ours.text, theirs.text);
    if (m.status === 'conflict') return null;
    if (o.check && (await o.check(file, m.text)) !== null) return null;
    merged.push({ file, mode: ours.mode, text: m.text });
  }
  await g.raw(['read-tree', o.mergedTree]);
  for (const [i, f] of merged.entries()) {
    const path = join(dir, `merged-${i}`);
    await writeFile(path, f.text);
    const id = (await g.raw(['hash-object', '-w', '--', path])).trim();
    await g.raw(['update-index', '--cacheinfo', `${f.mode},${id},${f.file}`]);
  }
  return (await g.raw(['write-tree'])).trim();
}
