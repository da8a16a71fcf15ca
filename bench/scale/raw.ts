/**
 * Raw BullMQ in manual mode, the reference: N concurrent loops of getNextJob(token) and
 * moveToCompleted on one Worker, on zero-work jobs, on the same Redis as the coordinator.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

export async function rawBullmq(redisUrl: string, prefix: string, workers: number, seconds: number) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const name = 'raw';
  const q = new Queue(name, { connection, prefix });
  const w = new Worker(name, null, { connection, prefix, autorun: false, lockDuration: 60_000 });
  w.on('error', () => {});
  const total = Math.max(2_000, Math.ceil(seconds * 4_000));
  for (let i = 0; i < total; i += 1_000) {
    const n = Math.min(1_000, total - i);
    await q.addBulk(
      Array.from({ length: n }, (_, j) => ({
        name: 'eval',
        data: { experimentId: `e${i + j}` },
        opts: { priority: 100, removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  let done = 0;
  const lat: number[] = [];
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < end) {
        const token = randomUUID();
        const a = performance.now();
        const job = await w.getNextJob(token, { block: false });
        if (!job) return;
        lat.push(performance.now() - a);
        await job.moveToCompleted({ ok: true }, token, false);
        done++;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  await q.obliterate({ force: true }).catch(() => {});
  await w.close(true);
  await q.close();
  connection.disconnect();
  return { perS: done / s, lat };
}
