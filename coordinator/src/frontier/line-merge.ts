/**
 * A 3-way merge of one text file that, unlike git's, lets both sides change neighbouring
 * lines. Git merges with context: an edit of line 7 on one side and of line 8 on the other is
 * a conflict, because each hunk's context contains the other's change. Research files keep
 * their constants on adjacent lines, so two proposals tweaking neighbouring constants would
 * always conflict. Here each side's changes are taken as zero-context hunks on the common
 * base; they merge when no line changed by one side is changed by the other (touching ranges
 * are fine, overlapping ones are a conflict). Pure.
 */

/** Lines [start, end) of the base replaced by `lines`; start === end is an insertion. */
export interface Hunk {
  start: number;
  end: number;
  lines: string[];
}

/** Zero-context hunks turning `a` into `b` (longest common subsequence of lines). */
export function lineHunks(a: readonly string[], b: readonly string[]): Hunk[] {
  // Trim the common head and tail first: edits of a constant leave almost everything equal.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const x = a.slice(pre, a.length - suf);
  const y = b.slice(pre, b.length - suf);
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: LCS length of x[i..] and y[j..].
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const hunks: Hunk[] = [];
  let cur: Hunk | null = null;
  let i = 0;
  let j = 0;
  const flush = () => {
    if (cur) hunks.push(cur);
    cur = null;
  };
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      flush();
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      cur ??= { start: pre + i, end: pre + i, lines: [] };
      cur.lines.push(y[j]!);
      j++;
    } else {
      cur ??= { start: pre + i, end: pre + i, lines: [] };
      cur.end = pre + i + 1;
      i++;
    }
  }
  flush();
  return hunks;
}

const same = (p: Hunk, q: Hunk) =>
  p.start === q.start &&
  p.end === q.end &&
  p.lines.length === q.lines.length &&
  p.lines.every((l, i) => l === q.lines[i]);

/** Whether two hunks on the same base touch a common line (or insert at the same place). */
function clash(p: Hunk, q: Hunk): boolean {
  if (p.start === p.end && q.start === q.end) return p.start === q.start;
  if (p.start === p.end) return q.start < p.start && p.start < q.end;
  if (q.start === q.end) return p.start < q.start && q.start < p.end;
  return p.start < q.end && q.start < p.end;
}

/**
 * The first region both sides changed, marked as git marks a conflict (the head's side, then
 * the proposal's), with a little context: what a conflict is reported with. '' when none.
 */
export function conflictText(base: string, ours: string, theirs: string): string {
  const b = base.split('\n');
  const o = lineHunks(b, ours.split('\n'));
  const t = lineHunks(b, theirs.split('\n')).filter((h) => !o.some((g) => same(g, h)));
  for (const h of t) {
    const g = o.find((x) => clash(x, h));
    if (!g) continue;
    const start = Math.min(g.start, h.start);
    const end = Math.max(g.end, h.end);
    const side = (x: Hunk) => [...b.slice(start, x.start), ...x.lines, ...b.slice(x.end, end)];
    return [
      ...b.slice(Math.max(0, start - 2), start),
      '<<<<<<< head',
      ...side(g),
      '=======',
      ...side(h),
      '>>>>>>> proposal',
      ...b.slice(end, end + 3),
    ].join('\n');
  }
  return '';
}

export type LineMerge = { status: 'merged'; text: string } | { status: 'conflict'; line: number };

/** Merge `ours` and `theirs`, both edits of `base`; identical changes on both sides count once. */
export function mergeLines(base: string, ours: string, theirs: string): LineMerge {
  const b = base.split('\n');
  const o = lineHunks(b, ours.split('\n'));
  const t = lineHunks(b, theirs.split('\n')).filter((h) => !o.some((g) => same(g, h)));
  for (const h of t) {
    const hit = o.find((g) => clash(g, h));
    if (hit) return { status: 'conflict', line: h.start + 1 };
  }
  const all = [...o, ...t].sort((p, q) => q.start - p.start || q.end - p.end);
  const out = [...b];
  for (const h of all) out.splice(h.start, h.end - h.start, ...h.lines);
  return { status: 'merged', text: out.join('\n') };
}
