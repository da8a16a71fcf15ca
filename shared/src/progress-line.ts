/** The fields of an upstream progress line: `step 00042 (14.0%) | loss: 3.456 | … | remaining: 258s`. */
export interface ProgressFields {
  step: number | null;
  percent: number | null;
  loss: number | null;
  remainingS: number | null;
}

function num(re: RegExp, line: string): number | null {
  const m = re.exec(line);
  if (!m) return null;
  const v = Number(m[1]!.replace(/,/g, ''));
  return Number.isFinite(v) ? v : null;
}

export function progressFields(line: string): ProgressFields {
  const percent = num(/\((\d+(?:\.\d+)?)%\)/, line);
  return {
    step: num(/\bstep\s+(\d+)/, line),
    percent: percent === null ? null : Math.min(100, percent),
    loss: num(/\bloss:\s*([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/i, line),
    remainingS: num(/\bremaining:\s*(\d+(?:\.\d+)?)\s*s\b/, line),
  };
}
