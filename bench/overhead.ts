/**
 * Worker overhead per experiment, measured through the real stack (Redis, git over HTTP,
 * Python child processes): from the lease to the training process's start, and from its
 * exit to the result being recorded by the coordinator. Prints figures; asserts nothing.
 *   node --import tsx bench/overhead.ts [N]
 */
import { setup, teardown } from '../test/support/global-redis.ts';
import { qualityPatch, startAgent, startCoordinator, waitFor } from '../test/support/harness.ts';

const n = Number(process.argv[2] ?? 20);
const say = (s: string) => process.stderr.write(`${s}\n`);
await setup();
say('starting coordinator');
// Every proposal edits the same line: with lease-time rebasing, those queued behind a merge
// would end as conflicts without running. This measures the worker, so let them all run.
const t = await startCoordinator({ RATCHET_LOG_LEVEL: 'silent', RATCHET_REBASE_ON_LEASE: '0' });
say(`coordinator at ${t.url}`);
try {
  const a = await startAgent(t.url, t.c.adminToken, { name: 'bench' });
  say('worker started');
  for (let i = 1; i <= n; i++) {
    const q = (1 - i / 1000).toFixed(6);
    await t.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', q),
      description: `q ${q}`,
    });
  }
  const done = await waitFor(
    async () => {
      const exps = await t.admin.experiments.list.query({ track: 'standin' });
      const fin = exps.filter((e) => e.recordedAt !== null && e.timings?.trainStartAt);
      return fin.length >= n + 1 ? fin : null;
    },
    600_000,
    'all experiments',
  );
  await a.stop();
  const leaseToStart = done.map((e) => e.timings!.trainStartAt! - e.timings!.leasedAt);
  const exitToRecorded = done.map((e) => e.recordedAt! - e.timings!.trainExitAt!);
  const checkout = done.map((e) => e.timings!.checkoutMs);
  const prepare = done.map((e) => e.timings!.prepareMs);
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    return `median ${q(0.5).toFixed(0)} ms, p90 ${q(0.9).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
  };
  console.log(`experiments: ${done.length} (stand-in track, one worker, this machine)`);
  console.log(`lease -> training process start: ${stat(leaseToStart)}`);
  console.log(`  of which checkout (git fetch over HTTP + apply): ${stat(checkout)}`);
  console.log(`  of which prepare step (cached after the first): ${stat(prepare)}`);
  console.log(`training process exit -> result recorded: ${stat(exitToRecorded)}`);
} finally {
  await t.close();
  await teardown();
}
