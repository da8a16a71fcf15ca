/** The track's prepare step, run once per machine and prepare hash (a marker file caches it). */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RunResult, runProcess } from './process.ts';

export interface PrepareSpec {
  argv: string[] | null;
  prepareHash: string;
  cacheDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  hardTimeoutS: number;
  signal?: AbortSignal;
}

export type PrepareOutcome = { ok: true; cached: boolean } | { ok: false; result: RunResult; log: string };

export async function ensurePrepared(spec: PrepareSpec): Promise<PrepareOutcome> {
  if (!spec.argv) return { ok: true, cached: true };
  const dir = join(spec.cacheDir, 'prepared');
  const marker = join(dir, spec.prepareHash);
  try {
    await access(marker);
    return { ok: true, cached: true };
  } catch {
    // not prepared yet
  }
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, `${spec.prepareHash}.log`);
  const result = await runProcess({ ...spec, argv: spec.argv, logFile });
  if (result.exitCode === 0) {
    await writeFile(marker, `${new Date().toISOString()}\n`);
    return { ok: true, cached: false };
  }
  return { ok: false, result, log: await readFile(logFile, 'utf8').catch(() => '') };
}
