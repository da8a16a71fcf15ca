/**
 * Time from `ratchet join` to the first training step of the tiny track, through the real
 * stack (a coordinator, the join process with its checks, the worker in folding mode, the
 * bubblewrap sandbox, PyTorch on CPU). Two joins on one cache: the first includes the
 * track's one-off data preparation, the second is a prepared machine. Prints figures.
 *   node --import tsx bench/join.ts
 * The CPU rule is set to 100% (--max-other-cpu 100): on a shared machine the default 25%
 * would wait for the other users, which is the rule working, not the join's cost.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrackDir } from '@ratchet/coordinator';
import { setup, teardown } from '../test/support/global-redis.ts';
import { PYTHON, ROOT, startCoordinator } from '../test/support/harness.ts';
import { spawnCli } from '../test/support/procs.ts';

const say = (s: string) => process.stderr.write(`${s}\n`);
await setup();
const t = await startCoordinator({ RATCHET_TRACKS: '', RATCHET_LOG_LEVEL: 'silent' });
const files = await readTrackDir(join(ROOT, 'tracks', 'tiny'));
const conf = JSON.parse(files['ratchet.json']!);
files['ratchet.json'] = JSON.stringify({ ...conf, id: 'tiny-join', budgetS: 60, hardTimeoutS: 600 });
await t.admin.tracks.add.mutate({ files });
const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'bench-volunteer' });
const home = await mkdtemp(join(tmpdir(), 'ratchet-join-bench-'));

async function firstStepLog(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names.filter((x) => x.endsWith('.log'))) {
    if (/step \d{5}/.test(await readFile(join(dir, n), 'utf8').catch(() => ''))) return true;
  }
  return false;
}

async function joinOnce(label: string, workdir: string): Promise<{ ms: number; lines: string[] }> {
  const t0 = Date.now();
  const p = spawnCli(
    ['join', t.url, '--token', token, '--python', PYTHON, '--max-other-cpu', '100', '--workdir', workdir],
    { HOME: home, XDG_CACHE_HOME: join(home, '.cache'), RATCHET_TOKEN: '' },
  );
  const marks: string[] = [];
  const seen = new Set<string>();
  try {
    for (;;) {
      const out = p.output();
      for (const [re, name] of [
        [/token accepted/, 'checks done, token accepted'],
        [/registered as/, 'registered'],
        [/leased /, 'leased'],
      ] as const) {
        if (!seen.has(name) && re.test(out)) {
          seen.add(name);
          marks.push(`  ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        }
      }
      if (await firstStepLog(join(workdir, 'jobs'))) break;
      if (p.child.exitCode !== null) throw new Error(`join exited:\n${out}`);
      if (Date.now() - t0 > 900_000) throw new Error('no training step within 15 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ms = Date.now() - t0;
    say(`${label}: first step after ${(ms / 1000).toFixed(1)} s`);
    return { ms, lines: marks };
  } finally {
    await p.stop('SIGINT');
  }
}

try {
  const load = loadavg()[0]!.toFixed(2);
  const fresh = await joinOnce('fresh cache', join(home, 'w1'));
  const prepared = await joinOnce('prepared machine', join(home, 'w2'));
  console.log(`join -> first training step, tiny track, CPU, this machine (load average ${load} at start):`);
  console.log(`  fresh cache (includes one-off data preparation): ${(fresh.ms / 1000).toFixed(1)} s`);
  for (const l of fresh.lines) console.log(`  ${l}`);
  console.log(`  prepared machine: ${(prepared.ms / 1000).toFixed(1)} s`);
  for (const l of prepared.lines) console.log(`  ${l}`);
  console.log(`  one-off data preparation ≈ ${((fresh.ms - prepared.ms) / 1000).toFixed(1)} s`);
} finally {
  await t.close();
  await rm(home, { recursive: true, force: true });
  await teardown();
}
