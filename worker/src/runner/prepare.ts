/** The track's prepare step, run once per machine and prepare hash (a marker file caches it). */
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
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
  /** Sandboxed workers: the contained argv and environment for this run. */
  contain?: (argv: string[]) => Promise<ContainedRun>;
  /** The mark prefix of the worker's runs (see reap.ts). */
  scope?: string;
}

/** What a sandbox makes of one run (see worker/src/sandbox). */
export interface ContainedRun {
  argv: string[];
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  finish(): Promise<{ oomKilled: boolean; diskExceededBytes: number | null }>;
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
  const contained = spec.contain ? await spec.contain(spec.argv) : null;
  const result = await runProcess({
    ...spec,
    argv: contained?.argv ?? spec.argv,
    env: contained?.env ?? spec.env,
    ...(contained ? { signal: anySignal(spec.signal, contained.signal) } : {}),
    logFile,
  });
  const limits = await contained?.finish();
  if (limits?.diskExceededBytes) {
    await appendFile(
      logFile,
      `\nsandbox: prepare wrote ${limits.diskExceededBytes} bytes, over its disk limit\n`,
    );
    return { ok: false, result, log: await readFile(logFile, 'utf8').catch(() => '') };
  }
  if (result.exitCode === 0) {
    await writeFile(marker, `${new Date().toISOString()}\n`);
    return { ok: true, cached: false };
  }
  return { ok: false, result, log: await readFile(logFile, 'utf8').catch(() => '') };
}

/** Aborts when either signal does. */
export function anySignal(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}
