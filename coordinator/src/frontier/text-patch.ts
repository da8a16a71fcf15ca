/**
 * Unified diffs of plain text files, in process: parse, apply exactly, and write. The
 * frontier uses them for the common case (a patch that modifies text files in place) so
 * that checking and rebasing a proposal spawns no git: a spawn blocks the coordinator's
 * event loop for milliseconds, and with many workers rebases happen on every lease. Anything
 * else (new, deleted or renamed files, modes, binaries, a missing final newline, a hunk that
 * does not apply exactly) returns null, and the caller asks git. Pure.
 */
import { type Hunk, lineHunks } from './line-merge.ts';

export interface FilePatch {
  path: string;
  hunks: { oldStart: number; lines: string[] }[];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const UNSUPPORTED =
  /^(new file|deleted file|rename |copy |old mode|new mode|similarity|dissimilarity|Binary|GIT binary|\\ No newline)/;

/** The files and hunks of a patch that only modifies text files in place; null otherwise. */
export function parsePatch(patch: string): FilePatch[] | null {
  const lines = patch.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const files: FilePatch[] = [];
  let cur: FilePatch | null = null;
  let hunk: { oldStart: number; lines: string[]; old: number; new: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (hunk && (hunk.old > 0 || hunk.new > 0)) {
      const c = l[0];
      if (c === ' ') {
        hunk.old--;
        hunk.new--;
      } else if (c === '-') hunk.old--;
      else if (c === '+') hunk.new--;
      else return null;
      if (hunk.old < 0 || hunk.new < 0) return null;
      hunk.lines.push(l);
      continue;
    }
    if (UNSUPPORTED.test(l)) return null;
    if (l.startsWith('--- ')) {
      const next = lines[i + 1] ?? '';
      const a = l.slice(4).split('\t')[0]!;
      const b = next.startsWith('+++ ') ? next.slice(4).split('\t')[0]! : '';
      if (!a.startsWith('a/') || !b.startsWith('b/') || a.slice(2) !== b.slice(2)) return null;
      cur = { path: a.slice(2), hunks: [] };
      files.push(cur);
      i++;
      continue;
    }
    const h = HUNK.exec(l);
    if (h) {
      if (!cur) return null;
      hunk = { oldStart: Number(h[1]), lines: [], old: Number(h[2] ?? 1), new: Number(h[4] ?? 1) };
      cur.hunks.push(hunk);
      continue;
    }
    if (l.startsWith('diff ') || l.startsWith('index ')) continue;
    return null;
  }
  if (hunk && (hunk.old !== 0 || hunk.new !== 0)) return null;
  if (files.length === 0 || files.some((f) => f.hunks.length === 0)) return null;
  if (new Set(files.map((f) => f.path)).size !== files.length) return null;
  return files.map((f) => ({
    path: f.path,
    hunks: f.hunks.map((x) => ({ oldStart: x.oldStart, lines: x.lines })),
  }));
}

/** Apply hunks at exactly their stated lines; null when a context or removed line differs. */
export function applyHunks(text: string, hunks: FilePatch['hunks']): string | null {
  if (!text.endsWith('\n')) return null;
  const src = text.slice(0, -1).split('\n');
  const out: string[] = [];
  let at = 0;
  for (const h of hunks) {
    // A hunk of zero old lines names the line after which it inserts.
    const start = h.lines.some((l) => l[0] !== '+') ? h.oldStart - 1 : h.oldStart;
    if (start < at || start > src.length) return null;
    out.push(...src.slice(at, start));
    at = start;
    for (const l of h.lines) {
      if (l[0] === '+') out.push(l.slice(1));
      else {
        if (src[at] !== l.slice(1)) return null;
        if (l[0] === ' ') out.push(src[at]!);
        at++;
      }
    }
  }
  out.push(...src.slice(at));
  return `${out.join('\n')}\n`;
}

/** A unified diff of one file with three lines of context, hunk by hunk ('' when equal). */
export function formatPatch(path: string, before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a[a.length - 1] === '' && b[b.length - 1] === '') {
    a.pop();
    b.pop();
  }
  const hunks = lineHunks(a, b);
  if (hunks.length === 0) return '';
  const ctx = 3;
  // Changes closer than twice the context share one hunk, as git writes them.
  const groups: Hunk[][] = [];
  for (const h of hunks) {
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && h.start - prev.end <= 2 * ctx) last.push(h);
    else groups.push([h]);
  }
  const out = [`--- a/${path}`, `+++ b/${path}`];
  let shift = 0; // new-side line offset accumulated before the current group
  for (const g of groups) {
    const from = Math.max(0, g[0]!.start - ctx);
    const to = Math.min(a.length, g[g.length - 1]!.end + ctx);
    const body: string[] = [];
    let i = from;
    let added = 0;
    for (const h of g) {
      for (; i < h.start; i++) body.push(` ${a[i]}`);
      for (; i < h.end; i++) body.push(`-${a[i]}`);
      for (const l of h.lines) body.push(`+${l}`);
      added += h.lines.length - (h.end - h.start);
    }
    for (; i < to; i++) body.push(` ${a[i]}`);
    const oldLen = to - from;
    const newLen = oldLen + added;
    const oldStart = oldLen === 0 ? from : from + 1;
    const newStart = newLen === 0 ? from + shift : from + shift + 1;
    out.push(`@@ -${oldStart},${oldLen} +${newStart},${newLen} @@`, ...body);
    shift += added;
  }
  return `${out.join('\n')}\n`;
}
