/** Aligned plain-text tables for the terminal: numbers to the right, everything else to the left. */

export type Cell = string | number;

const NUMERIC = /^[-+]?\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?$/i;

function width(s: string): number {
  return [...s].length;
}

export function formatTable(headers: string[], rows: Cell[][], indent = '  '): string {
  const text = rows.map((r) => headers.map((_, i) => String(r[i] ?? '')));
  const right = headers.map(
    (_, i) => text.length > 0 && text.every((r) => r[i] === '' || NUMERIC.test(r[i]!)),
  );
  const w = headers.map((h, i) => Math.max(width(h), ...text.map((r) => width(r[i]!))));
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(w[i]! - width(s));
    return right[i] ? fill + s : s + fill;
  };
  const line = (cells: string[]) => indent + cells.map(pad).join('  ').trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}
