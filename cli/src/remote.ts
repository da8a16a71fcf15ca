/** Where the CLI's API calls go and with which token. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '@ratchet/coordinator/config';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';

export const remoteOptions = {
  coordinator: { type: 'string' },
  token: { type: 'string' },
} as const;

export function coordinatorUrl(v: string | undefined): string {
  return v ?? process.env.RATCHET_URL ?? 'http://127.0.0.1:8787';
}

/** --token, RATCHET_TOKEN, or the local coordinator's admin token file. */
export function resolveToken(v: string | undefined): string {
  if (v) return v;
  if (process.env.RATCHET_TOKEN) return process.env.RATCHET_TOKEN;
  const dataDir = process.env.RATCHET_DATA_DIR ?? defaultDataDir(process.env);
  try {
    return readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * A long-running process's token: `--token-file`, RATCHET_TOKEN_FILE or RATCHET_TOKEN. `--token`
 * still works, with a warning: any local user reads it in /proc/<pid>/cmdline.
 */
export function resolveTokenSource(
  values: { token?: string | undefined; tokenFile?: string | undefined },
  warn: (msg: string) => void,
): string {
  const file = values.tokenFile ?? process.env.RATCHET_TOKEN_FILE;
  if (values.tokenFile !== undefined || (values.token === undefined && file)) {
    try {
      return readFileSync(file!, 'utf8').trim();
    } catch (e) {
      throw new RatchetError(
        ErrorCodes.BAD_INPUT,
        `cannot read the token file ${file}: ${(e as Error).message}`,
      );
    }
  }
  if (values.token) {
    warn(
      '--token is visible to every local user in /proc/<pid>/cmdline; use --token-file FILE or RATCHET_TOKEN',
    );
  }
  return resolveToken(values.token);
}

export function clientFrom(values: { coordinator?: string | undefined; token?: string | undefined }) {
  return createClient(coordinatorUrl(values.coordinator), resolveToken(values.token));
}
