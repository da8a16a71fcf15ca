/**
 * Counts the Redis commands that name a key prefix, with MONITOR on a plain socket (ioredis's
 * monitor mode trips over replies that arrive before it switches, on a busy shared Redis).
 * Commands run inside Lua scripts are counted too.
 */
import { connect } from 'node:net';

export async function monitorPrefix(prefix: string, url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') {
  const u = new URL(url);
  const sock = connect(Number(u.port || 6379), u.hostname);
  let count = 0;
  let buf = '';
  const needle = `"${prefix}`;
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.write('MONITOR\r\n');
      resolve();
    });
  });
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('+OK')) resolve();
        else if (line.includes(needle)) count++;
        nl = buf.indexOf('\n');
      }
    });
  });
  return {
    count: () => count,
    close: () => sock.destroy(),
  };
}
