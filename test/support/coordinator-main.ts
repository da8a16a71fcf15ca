/**
 * A coordinator in its own process (for several replicas, and so that its CPU and RSS can
 * be read from /proc). Configured from the environment like the real one; prints one JSON line
 * `{ url, adminToken, pid }` on stdout once it listens, and exits on SIGTERM.
 * For fault benches: `RATCHET_FAULT_KILL_AT=<step>[,<step>…]` with `RATCHET_FAULT_KILL_P=<0..1>`
 * kills the process with SIGKILL at those protocol steps (`Events.step`), with that probability.
 */
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
