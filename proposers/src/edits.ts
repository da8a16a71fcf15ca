/**
 * Search/replace edits from a language model, applied by ratchet itself: each search text
 * must match exactly once in an editable file, on identifier boundaries (so an edit of
 * `EMBEDDING_LR` never lands inside `UNEMBEDDING_LR`). Pure.
 */
import { type ErrorCode, ErrorCodes } from '@ratchet/shared';
import { z } from 'zod';

export const LlmEdit = z.object({
  file: z.string().min(1).max(300),
  search: z.string().min(1).max(20_000),
  replace: z.string().max(20_000),
});
export const LlmAnswer = z.object({
  description: z.string().min(1).max(300),
  edits: z.array(LlmEdit).min(1).max(20),
});
export type LlmAnswer = z.infer<typeof LlmAnswer>;

export type EditResult =
  | { ok: true; files: Record<string, string>; changed: string[] }
  | { ok: false; code: ErrorCode; message: string };

const IDENT = /[A-Za-z0-9_]/;

/** Offsets where `needle` occurs in `hay` on identifier boundaries. */
export function boundedMatches(hay: string, needle: string): number[] {
  const out: number[] = [];
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) {
    const before = i > 0 ? hay[i - 1]! : '';
    const after = hay[i + needle.length] ?? '';
    if (IDENT.test(needle[0]!) && IDENT.test(before)) continue;
    if (IDENT.test(needle[needle.length - 1]!) && IDENT.test(after)) continue;
    out.push(i);
  }
  return out;
}

export function applyEdits(
  files: Record<string, string>,
  editable: readonly string[],
  answer: LlmAnswer,
): EditResult {
  const next = { ...files };
  for (const [i, e] of answer.edits.entries()) {
    if (!editable.includes(e.file)) {
      return {
        ok: false,
        code: ErrorCodes.PATCH_OUTSIDE_EDITABLE,
        message: `edit ${i + 1}: ${e.file} is not editable`,
      };
    }
    const text = next[e.file];
    if (text === undefined)
      return {
        ok: false,
        code: ErrorCodes.PATCH_OUTSIDE_EDITABLE,
        message: `edit ${i + 1}: no file ${e.file}`,
      };
    const hits = boundedMatches(text, e.search);
    if (hits.length === 0)
      return { ok: false, code: ErrorCodes.EDIT_NO_MATCH, message: `edit ${i + 1}: search text not found` };
    if (hits.length > 1) {
      return {
        ok: false,
        code: ErrorCodes.EDIT_AMBIGUOUS,
        message: `edit ${i + 1}: search text matches ${hits.length} times`,
      };
    }
    next[e.file] = text.slice(0, hits[0]!) + e.replace + text.slice(hits[0]! + e.search.length);
  }
  const changed = Object.keys(next).filter((f) => next[f] !== files[f]);
  if (changed.length === 0)
    return { ok: false, code: ErrorCodes.EDIT_NO_CHANGE, message: 'the edits change nothing' };
  return { ok: true, files: next, changed };
}
