/** Commands that need no coordinator: parse-log, check-patch. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkPatch,
  decodeRunLog,
  ErrorCodes,
  parseRunLog,
  RatchetError,
  TrackConfig,
} from '@ratchet/shared';
import { parse, required } from '../args.ts';

export async function parseLogCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    'exit-code': { type: 'string' },
    'timed-out': { type: 'boolean', default: false },
  });
  const file = required(positionals[0], 'FILE');
  let text: string;
  try {
    text = decodeRunLog(await readFile(file));
  } catch (e) {
    throw new RatchetError(ErrorCodes.LOG_UNREADABLE, `cannot read ${file}: ${(e as Error).message}`);
  }
  let exitCode: number | undefined;
  if (values['exit-code'] !== undefined) {
    exitCode = Number(values['exit-code']);
    if (!Number.isInteger(exitCode))
      throw new RatchetError(ErrorCodes.BAD_INPUT, '--exit-code must be an integer');
  }
  const r = parseRunLog(text, { exitCode, timedOut: values['timed-out'] });
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  return 0;
}

export async function checkPatchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    'track-dir': { type: 'string' },
    'max-bytes': { type: 'string' },
  });
  const dir = required(values['track-dir'], '--track-dir DIR');
  const file = required(positionals[0], 'FILE');
  let cfg: TrackConfig;
  try {
    cfg = TrackConfig.parse(JSON.parse(await readFile(join(dir, 'ratchet.json'), 'utf8')));
  } catch (e) {
    throw new RatchetError(ErrorCodes.TRACK_INVALID, `${dir}/ratchet.json: ${(e as Error).message}`);
  }
  const patch = await readFile(file, 'utf8').catch((e) => {
    throw new RatchetError(ErrorCodes.BAD_INPUT, `cannot read ${file}: ${(e as Error).message}`);
  });
  const maxBytes = values['max-bytes'] === undefined ? undefined : Number(values['max-bytes']);
  const r = checkPatch(
    patch,
    maxBytes === undefined ? { editable: cfg.editable } : { editable: cfg.editable, maxBytes },
  );
  if (r.ok) {
    process.stdout.write(`ok: modifies ${r.files.join(', ')}\n`);
    return 0;
  }
  process.stdout.write(`${r.code}: ${r.message}\n`);
  return 2;
}
