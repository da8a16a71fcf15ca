/**
 * A coordinator in its own process (for several replicas, and so that its CPU and RSS can
 * be read from /proc). Configured from the environment like the real one; prints one JSON line
 * `{ url, adminToken, pid }` on stdout once it listens, and exits on SIGTERM.
 */
import { createCoordinator, loadConfig } from '@ratchet/coordinator';

const c = await createCoordinator(loadConfig(process.env));
const url = await c.start();
process.stdout.write(`${JSON.stringify({ url, adminToken: c.adminToken, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void c.close().finally(() => process.exit(0));
});
