/** A coordinator in its own process (test/support/coordinator-main.ts), configured by env. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeBundle } from '../../scripts/node-bundle.ts';
import { ROOT, TSX_LOADER } from './harness.ts';

export interface CoordinatorProcess {
  child: ChildProcess;
  url: string;
  adminToken: string;
  pid: number;
  /** The child's stdout after its first line, line by line (debug hooks print there). */
  lines: ReturnType<typeof createInterface>;
  /**
   * With RATCHET_DEBUG_MEMORY=1 and --expose-gc: force a full GC in the coordinator and read its
   * process.memoryUsage() after it (and the heap snapshot it wrote, with RATCHET_DEBUG_HEAP_DIR).
   */
  memoryAfterGc(timeoutMs?: number): Promise<{ memory: NodeJS.MemoryUsage; snapshot: string | null }>;
  close(): Promise<void>;
}

let compiled: Promise<string> | null = null;

/**
 * coordinator-main.ts bundled to plain JavaScript (once per process), as production runs the
 * compiled CLI: without the TypeScript loader's own memory in the figures.
 */
async function compiledMain(): Promise<string> {
  compiled ??= (async () => {
    const { build } = await import('esbuild');
    const outdir = await mkdtemp(join(tmpdir(), 'ratchet-coordinator-js-'));
    await build(nodeBundle([join(ROOT, 'test/support/coordinator-main.ts')], outdir));
    return join(outdir, 'coordinator-main.js');
  })();
  return compiled;
}

/**
 * `compiled`: run it bundled to JavaScript instead of through the TypeScript loader;
 * `nodeArgs`: flags for node itself (e.g. --expose-gc, --heapsnapshot-signal=…).
 */
export async function startCoordinatorProcess(
  env: Record<string, string>,
  opts: { compiled?: boolean; nodeArgs?: string[] } = {},
): Promise<CoordinatorProcess> {
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(opts.compiled
      ? [await compiledMain()]
      : ['--import', TSX_LOADER, join(ROOT, 'test/support/coordinator-main.ts')]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, RATCHET_PORT: '0', RATCHET_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (c) => reject(new Error(`coordinator exited with ${c}`)));
  });
  const info = JSON.parse(line) as { url: string; adminToken: string; pid: number };
  return {
    child,
    ...info,
    lines,
    memoryAfterGc(timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          lines.off('line', onLine);
          reject(new Error(`no memory sample within ${timeoutMs} ms`));
        }, timeoutMs);
        const onLine = (l: string) => {
          if (!l.startsWith('{"memory"')) return;
          clearTimeout(timer);
          lines.off('line', onLine);
          resolve(JSON.parse(l) as { memory: NodeJS.MemoryUsage; snapshot: string | null });
        };
        lines.on('line', onLine);
        child.kill('SIGUSR2');
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
