/**
 * The dashboard's cost and speed, through the real stack: a coordinator process (Redis,
 * git, BullMQ) with simulated workers screening a steady stream of proposals (each makes
 * val_bpb a little worse, so the head stays put and every one is one screen run), watched by 0, 1 and N viewers over server-sent events. Prints the page's payload,
 * the message sizes, how far behind a result reaches the viewers (result recorded → event
 * received) and the coordinator's CPU per viewer count. Asserts nothing.
 *   node --import tsx bench/dashboard.ts [VIEWERS=100] [SECONDS=15]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DashMessage, OPEN_PROPOSAL_STATUSES } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { setup, teardown } from '../test/support/global-redis.ts';
import { cleanRedis, STANDIN_TRACK, uniquePrefix } from '../test/support/harness.ts';
import { spawnCli } from '../test/support/procs.ts';
import { bonusPatch, createSimWorker, standinLandscape } from '../test/support/sim-worker.ts';

const viewersN = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 15);
const say = (s: string) => process.stderr.write(`${s}\n`);

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Viewer {
  close(): void;
  latencies: number[];
  bytes: number;
  messages: number;
  firstBytes: number;
}

/** One viewer: reads the stream, and for each result first seen recorded, how late it came. */
async function openViewer(url: string, token: string, gzip: boolean): Promise<Viewer> {
  const ctrl = new AbortController();
  const res = await fetch(`${url}/api/dashboard/events`, {
    headers: { authorization: `Bearer ${token}`, 'accept-encoding': gzip ? 'gzip' : 'identity' },
    signal: ctrl.signal,
  });
  if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const v: Viewer = { close: () => ctrl.abort(), latencies: [], bytes: 0, messages: 0, firstBytes: 0 };
  const recorded = new Set<string>();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!ev.startsWith('data: ')) continue;
          const now = Date.now();
          v.bytes += ev.length + 2;
          v.messages++;
          const m = JSON.parse(ev.slice(6)) as DashMessage;
          if (m.type === 'snapshot') {
            v.firstBytes ||= ev.length + 2;
            for (const e of m.data.experiments) if (e.recordedAt !== null) recorded.add(e.id);
          } else {
            for (const e of m.experiments ?? []) {
              if (e.recordedAt === null || recorded.has(e.id)) continue;
              recorded.add(e.id);
              v.latencies.push(now - e.recordedAt);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return v;
}

const stat = (xs: number[]) => {
  if (xs.length === 0) return 'no samples';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${s[s.length - 1]} ms (${xs.length} samples)`;
};

await setup();
const prefix = uniquePrefix('bench-dash');
const dataDir = await mkdtemp(join(tmpdir(), 'ratchet-bench-dash-'));
const coord = spawnCli(['coordinator', '--port', '0', '--data-dir', dataDir, '--track', STANDIN_TRACK], {
  RATCHET_REDIS_PREFIX: prefix,
  RATCHET_LOG_LEVEL: 'warn',
});
const sims: ReturnType<typeof createSimWorker>[] = [];
try {
  const url = (await coord.waitForLine(/listening on (http:\/\/\S+)/, 60_000))[1]!;
  const pid = coord.child.pid!;
  const admin = createClient(url, (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim());
  const viewerToken = (await admin.tokens.create.mutate({ role: 'viewer', name: 'bench' })).token;
  const workerToken = (await admin.tokens.create.mutate({ role: 'worker', name: 'sim', trusted: true }))
    .token;
  for (let i = 0; i < 4; i++) {
    const w = createSimWorker({
      url,
      token: workerToken,
      name: `sim-${i}`,
      file: 'train.py',
      landscape: standinLandscape,
      sigma: 0.002,
      seed: 17 + i,
      runMs: 400,
    });
    sims.push(w);
    void w.run().catch((e) => say(`sim worker stopped: ${(e as Error).message}`));
  }
  // Keep about eight proposals waiting, each a distinct small loss.
  let feeding = true;
  let fed = 0;
  const feeder = (async () => {
    while (feeding) {
      const open = (await admin.proposals.list.query({ track: 'standin', limit: 50 })).filter((p) =>
        OPEN_PROPOSAL_STATUSES.includes(p.status),
      ).length;
      for (let i = open; i < 8; i++) {
        fed++;
        await admin.proposals.submit
          .mutate({
            track: 'standin',
            patch: bonusPatch(`-${(fed / 1e5).toFixed(6)}`),
            description: `loss ${fed}`,
            proposer: `p${fed % 3}`,
            strategy: 'bench',
          })
          .catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  say('warming up: results accumulate for 20 s');
  await new Promise((r) => setTimeout(r, 20_000));

  // The page's payload.
  // Bytes on the wire (node:http, which does not decompress).
  const get = (path: string, gzip: boolean) =>
    new Promise<{ bytes: number; encoding: string | null }>((resolve, reject) => {
      const req = httpGet(`${url}${path}`, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        res.on('end', () =>
          resolve({ bytes, encoding: (res.headers['content-encoding'] as string) ?? null }),
        );
      });
      req.on('error', reject);
    });
  let raw = 0;
  let zipped = 0;
  for (const p of ['/', '/app.js', '/app.css']) {
    const a = await get(p, false);
    const b = await get(p, true);
    const gz = b.bytes;
    console.log(`payload ${p}: ${a.bytes} B, ${b.encoding === 'gzip' ? `${gz} B gzip` : 'not compressed'}`);
    raw += a.bytes;
    zipped += gz;
  }
  console.log(`payload page total: ${raw} B raw, ${zipped} B as sent with gzip; no other request`);
  // The event stream on the wire in its first second (the snapshot, then a diff or two).
  const streamBytes = (gzip: boolean) =>
    new Promise<number>((resolve, reject) => {
      let bytes = 0;
      const headers: Record<string, string> = { authorization: `Bearer ${viewerToken}` };
      if (gzip) headers['accept-encoding'] = 'gzip';
      const req = httpGet(`${url}/api/dashboard/events`, { headers }, (res) => {
        res.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        setTimeout(() => {
          req.destroy();
          resolve(bytes);
        }, 1_000);
      });
      req.on('error', (e) => (bytes > 0 ? resolve(bytes) : reject(e)));
    });
  console.log(
    `events, first second on the wire: ${await streamBytes(false)} B plain, ${await streamBytes(true)} B gzip`,
  );

  const window = async (n: number, gzip = false) => {
    const vs = await Promise.all(Array.from({ length: n }, () => openViewer(url, viewerToken, gzip)));
    await new Promise((r) => setTimeout(r, 1_500));
    const c0 = cpuSeconds(pid);
    const t0 = Date.now();
    for (const v of vs) v.latencies.length = 0;
    const b0 = vs.reduce((a, v) => a + v.bytes, 0);
    const m0 = vs.reduce((a, v) => a + v.messages, 0);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = cpuSeconds(pid) - c0;
    const wall = (Date.now() - t0) / 1000;
    for (const v of vs) v.close();
    const lat = vs.flatMap((v) => v.latencies);
    const bytes = vs.reduce((a, v) => a + v.bytes, 0) - b0;
    const msgs = vs.reduce((a, v) => a + v.messages, 0) - m0;
    const exps = (await admin.experiments.list.query({ track: 'standin' })).length;
    console.log(
      `viewers ${n}${n > 0 ? (gzip ? ' (gzip)' : ' (plain)') : ''}: coordinator CPU ${((100 * cpu) / wall).toFixed(1)}% of a core over ${wall.toFixed(0)} s (${exps} experiments in the store)`,
    );
    if (n > 0) {
      console.log(`  result recorded -> event at the viewer: ${stat(lat)}`);
      console.log(
        `  first message (snapshot) ${vs[0]!.firstBytes} B; then ${(msgs / n / wall).toFixed(2)} diffs/s per viewer, ` +
          `${(bytes / Math.max(1, msgs)).toFixed(0)} B each on average`,
      );
    }
  };
  await window(0);
  await window(1);
  await window(viewersN);
  await window(viewersN, true);
  await window(0);
  feeding = false;
  await feeder;
} finally {
  for (const s of sims) s.stop();
  await coord.stop('SIGTERM');
  await cleanRedis(prefix);
  await rm(dataDir, { recursive: true, force: true });
  await teardown();
}
