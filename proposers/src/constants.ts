/**
 * Top-level numeric constants of a Python file (`NAME = 1e-3  # comment`), and whole-line
 * edits of them. Edits touch the definition line only, so `EMBEDDING_LR` never rewrites
 * `UNEMBEDDING_LR`. A line whose comment says `fixed` is never edited.
 */
export interface NumericConstant {
  name: string;
  line: number;
  raw: string;
  value: number;
  isInt: boolean;
  fixed: boolean;
}

const DEF = /^([A-Z][A-Z0-9_]*)(\s*=\s*)([-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(\s*(?:#.*)?)$/;

export function findConstants(source: string): NumericConstant[] {
  const out: NumericConstant[] = [];
  source.split('\n').forEach((text, line) => {
    const m = DEF.exec(text.replace(/\r$/, ''));
    if (!m) return;
    const raw = m[3]!;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(value)) return;
    out.push({
      name: m[1]!,
      line,
      raw,
      value,
      isInt: /^[-+]?[\d_]+$/.test(raw),
      fixed: /#.*\bfixed\b/i.test(m[4] ?? ''),
    });
  });
  return out;
}

/** Python literal for a value, keeping ints as ints and floats short. */
export function formatValue(value: number, isInt: boolean): string {
  if (isInt) return String(Math.round(value));
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5))
    return value.toExponential(2).replace('e+', 'e');
  const s = Number(value.toPrecision(3)).toString();
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

export function replaceConstant(source: string, c: NumericConstant, literal: string): string {
  const lines = source.split('\n');
  const text = lines[c.line]!;
  const m = DEF.exec(text.replace(/\r$/, ''));
  if (!m || m[1] !== c.name) throw new Error(`line ${c.line + 1} is no longer ${c.name}`);
  lines[c.line] = `${m[1]}${m[2]}${literal}${m[4]}${text.endsWith('\r') ? '\r' : ''}`;
  return lines.join('\n');
}

/** A unified diff of two versions of one file (single changed region, 3 lines of context). */
export function unifiedDiff(path: string, before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length - 1;
  let endB = b.length - 1;
  while (endA >= start && endB >= start && a[endA] === b[endB]) {
    endA--;
    endB--;
  }
  if (start > endA && start > endB) return '';
  const ctx = 3;
  const from = Math.max(0, start - ctx);
  const toA = Math.min(a.length - 1, endA + ctx);
  const toB = Math.min(b.length - 1, endB + ctx);
  // A trailing '' element is the newline at the end of the file, not a line.
  const lastA = a[a.length - 1] === '' ? a.length - 2 : a.length - 1;
  const lastB = b[b.length - 1] === '' ? b.length - 2 : b.length - 1;
  const hiA = Math.min(toA, lastA);
  const hiB = Math.min(toB, lastB);
  const body: string[] = [];
  for (let i = from; i < start; i++) body.push(` ${a[i]}`);
  for (let i = start; i <= endA && i <= lastA; i++) body.push(`-${a[i]}`);
  for (let i = start; i <= endB && i <= lastB; i++) body.push(`+${b[i]}`);
  for (let i = endA + 1; i <= hiA; i++) body.push(` ${a[i]}`);
  const lenA = hiA - from + 1;
  const lenB = hiB - from + 1;
  return [
    `--- a/${path}`,
    `+++ b/${path}`,
    `@@ -${from + 1},${lenA} +${from + 1},${lenB} @@`,
    ...body,
    '',
  ].join('\n');
}
