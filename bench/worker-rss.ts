/**
 * A worker agent's memory once idle, run through the TypeScript loader and as compiled JS
 * (scripts/build.ts), against a real coordinator; each runs the stand-in track's baselines
 * first, then waits for work. Prints figures; asserts nothing.
 *   node --import tsx bench/worker-rss.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startCoordinator } from '../test/support/harness.ts';
import { rssMb } from './scale/procs.ts';

const dist = await mkdtemp(join(tmpdir(), 'ratchet-dist-'));
execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), dist], { cwd: ROOT });
const ways: Record<string, string[]> = {
  'tsx loader': ['--import', 'tsx', join(ROOT, 'cli/src/main.ts')],
  'compiled JS': [join(dist, 'main.js')],
};
for (const [way, argv] of Object.entries(ways)) {
  const t = await startCoordinator();
  const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'rss' });
  const work = await mkdtemp(join(tmpdir(), 'ratchet-rss-'));
  const c = spawn(
    process.execPath,
    [...argv, 'worker', '--coordinator', t.url, '--token', token, '--workdir', work],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 15_000));
  const m = rssMb(c.pid!);
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  console.log(`${way}: idle RSS ${m.rss.toFixed(0)} MB (peak ${m.peak.toFixed(0)} MB), load ${load}`);
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
  await t.close();
  await rm(work, { recursive: true, force: true });
}
await rm(dist, { recursive: true, force: true });
