/**
 * The track's Python environment sync (`uv sync`), run once per machine and lockfile hash.
 * The environment goes to `<cacheDir>/envs/<hash>`, named to the tool through the track's
 * `envDirVar` (uv: `UV_PROJECT_ENVIRONMENT`), so that the prepare step and every later run
 * of the track, each in a fresh checkout, find it synced.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrackSync } from '@ratchet/shared';
import { ensurePrepared } from './prepare.ts';
import type { RunResult } from './process.ts';

export interface SyncSpec {
  sync: TrackSync | null;
  cacheDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Used when the track's sync names no limit of its own. */
  hardTimeoutS: number;
  signal?: AbortSignal;
  /** The mark prefix of the worker's runs (see reap.ts). */
  scope?: string;
}

export type SyncOutcome =
  | { ok: true; cached: boolean; env: Record<string, string> }
  | { ok: false; message: string; result: RunResult | null; log: string };

export function syncHash(sync: TrackSync, lockfile: string): string {
  return createHash('sha256').update(JSON.stringify(sync.argv)).update('\0').update(lockfile).digest('hex');
}

export async function ensureSynced(spec: SyncSpec): Promise<SyncOutcome> {
  if (!spec.sync) return { ok: true, cached: true, env: {} };
  let lock: string;
  try {
    lock = await readFile(join(spec.cwd, spec.sync.lockfile), 'utf8');
  } catch {
    return {
      ok: false,
      message: `the track has no ${spec.sync.lockfile} to sync from`,
      result: null,
      log: '',
    };
  }
  const hash = syncHash(spec.sync, lock);
  const env: Record<string, string> = {};
  if (spec.sync.envDirVar) env[spec.sync.envDirVar] = join(spec.cacheDir, 'envs', hash.slice(0, 24));
  const r = await ensurePrepared({
    argv: spec.sync.argv,
    prepareHash: `sync-${hash}`,
    cacheDir: spec.cacheDir,
    cwd: spec.cwd,
    env: { ...spec.env, ...env },
    hardTimeoutS: spec.sync.timeoutS ?? spec.hardTimeoutS,
    ...(spec.signal ? { signal: spec.signal } : {}),
    ...(spec.scope ? { scope: spec.scope } : {}),
  });
  if (r.ok) return { ok: true, cached: r.cached, env };
  const why = r.result.spawnError
    ? `cannot start ${spec.sync.argv[0]}: ${r.result.spawnError}`
    : r.result.timedOut
      ? `killed after ${spec.sync.timeoutS} s`
      : `exit ${r.result.exitCode}`;
  return {
    ok: false,
    message: `environment sync (${spec.sync.argv.join(' ')}) failed (${why})`,
    result: r.result,
    log: r.log,
  };
}
