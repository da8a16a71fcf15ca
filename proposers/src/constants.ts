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

/** A file as lines; the last line carries a marker when the file does not end in a newline. */
function linesOf(text: string): { lines: string[]; keys: string[] } {
  if (text === '') return { lines: [], keys: [] };
  const eol = text.endsWith('\n');
  const lines = (eol ? text.slice(0, -1) : text).split('\n');
  const keys = lines.map((l, i) => (!eol && i === lines.length - 1 ? `${l}\u0000no-eol` : l));
  return { lines, keys };
}

const NO_EOL = '\\ No newline at end of file';

/**
 * A unified diff of two versions of one file: one hunk around the changed region, 3 lines
 * of context, correct at the start and end of a file (empty files, a missing final newline,
 * lines added after the last one). Empty when nothing changed.
 */
export function unifiedDiff(path: string, before: string, after: string): string {
  const a = linesOf(before);
  const b = linesOf(after);
  const na = a.keys.length;
  const nb = b.keys.length;
  let pre = 0;
  while (pre < na && pre < nb && a.keys[pre] === b.keys[pre]) pre++;
  let suf = 0;
  while (suf < na - pre && suf < nb - pre && a.keys[na - 1 - suf] === b.keys[nb - 1 - suf]) suf++;
  if (pre === na && pre === nb) return '';
  const ctx = 3;
  const from = Math.max(0, pre - ctx);
  const tail = Math.min(ctx, suf);
  const endA = na - suf + tail;
  const endB = nb - suf + tail;
  const body: string[] = [];
  const push = (sign: string, side: typeof a, i: number) => {
    body.push(`${sign}${side.lines[i]}`);
    if (side.keys[i] !== side.lines[i]) body.push(NO_EOL);
  };
  for (let i = from; i < pre; i++) push(' ', a, i);
  for (let i = pre; i < na - suf; i++) push('-', a, i);
  for (let i = pre; i < nb - suf; i++) push('+', b, i);
  for (let i = na - suf; i < endA; i++) push(' ', a, i);
  const lenA = endA - from;
  const lenB = endB - from;
  // An empty side starts at the line before the hunk (0 at the top of the file).
  const startA = lenA === 0 ? from : from + 1;
  const startB = lenB === 0 ? from : from + 1;
  return [`--- a/${path}`, `+++ b/${path}`, `@@ -${startA},${lenA} +${startB},${lenB} @@`, ...body, ''].join(
    '\n',
  );
}
