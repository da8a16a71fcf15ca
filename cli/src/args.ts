/** Small helpers over node:util parseArgs, and coded errors for the CLI. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ErrorCodes, isRatchetError, RatchetError } from '@ratchet/shared';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new RatchetError(ErrorCodes.BAD_INPUT, (e as Error).message);
  }
}

export function required<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === '') throw new RatchetError(ErrorCodes.BAD_INPUT, `missing ${what}`);
  return v;
}

/** Exit codes: 2 for bad input or a refusal, 1 for anything else. */
export function reportError(e: unknown): number {
  if (isRatchetError(e)) {
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
    return e.retryable ? 1 : 2;
  }
  const err = e as { data?: { ratchetCode?: string }; message?: string };
  if (err?.data?.ratchetCode) {
    process.stderr.write(`error ${err.data.ratchetCode}: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`error ${ErrorCodes.INTERNAL}: ${(e as Error)?.message ?? String(e)}\n`);
  return 1;
}
