/**
 * A coordinator in its own process (for several replicas, and so that its CPU and RSS can
 * be read from /proc). Configured from the environment like the real one; prints one JSON line
 * `{ url, adminToken, pid }` on stdout once it listens, and exits on SIGTERM.
 * For fault benches: `RATCHET_FAULT_KILL_AT=<step>[,<step>…]` with `RATCHET_FAULT_KILL_P=<0..1>`
 * kills the process with SIGKILL at those protocol steps (`Events.step`), with that probability.
 *
 * With RATCHET_DEBUG_MEMORY=1 (and node started with --expose-gc), each SIGUSR2 forces a full
 * GC and prints one more JSON line: `{ memory: process.memoryUsage() }` taken after it (the
 * soak bench's samples). With RATCHET_DEBUG_HEAP_DIR set too, it also writes a heap snapshot
 * there and names it in the line (`snapshot`). Off unless asked; the production CLI has no
 * such hook.
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createCoordinator, loadConfig } from '@ratchet/coordinator';

const killAt = new Set((process.env.RATCHET_FAULT_KILL_AT ?? '').split(',').filter(Boolean));
const killP = Number(process.env.RATCHET_FAULT_KILL_P ?? '1');
const c = await createCoordinator(loadConfig(process.env), {
  step: (name) => {
    if (killAt.has(name) && Math.random() < killP) process.kill(process.pid, 'SIGKILL');
  },
});
const url = await c.start();
process.stdout.write(`${JSON.stringify({ url, adminToken: c.adminToken, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void c.close().finally(() => process.exit(0));
});
if (process.env.RATCHET_DEBUG_MEMORY === '1') {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('RATCHET_DEBUG_MEMORY=1 needs node --expose-gc');
  process.on('SIGUSR2', () => {
    gc();
    const memory = process.memoryUsage();
    const dir = process.env.RATCHET_DEBUG_HEAP_DIR;
    const snapshot = dir ? writeHeapSnapshot(join(dir, `coordinator-${Date.now()}.heapsnapshot`)) : null;
    process.stdout.write(`${JSON.stringify({ memory, snapshot })}\n`);
  });
}
