/** Where the CLI's API calls go and with which token. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '@ratchet/coordinator/config';
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

export function clientFrom(values: { coordinator?: string | undefined; token?: string | undefined }) {
  return createClient(coordinatorUrl(values.coordinator), resolveToken(values.token));
}
