/**
 * `ratchet worker` on a real terminal (a pseudo-terminal from util-linux's `script`): the
 * running experiment is a live bar with step, percent, loss and time left, drawn in place,
 * and the lines after it are not swallowed when the bar goes away.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, PYTHON, startCoordinator, type TestCoordinator, TSX_LOADER } from './support/harness.ts';

let t: TestCoordinator | null = null;
const dirs: string[] = [];
afterAll(async () => {
  await t?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('the worker on a terminal', () => {
  it('draws a live progress bar for the running experiment', async () => {
    t = await startCoordinator();
    const work = await mkdtemp(join(tmpdir(), 'ratchet-tty-'));
    dirs.push(work);
    const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'tty', trusted: true });
    const argv = [process.execPath, '--import', TSX_LOADER, CLI, 'worker', '--coordinator', t.url];
    argv.push('--once', '--python', PYTHON, '--workdir', join(work, 'w'), '--name', 'ttyw');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'script',
        ['-qec', argv.map(quote).join(' '), '/dev/null'],
        { env: { ...process.env, TERM: 'xterm', COLUMNS: '140', RATCHET_TOKEN: token }, timeout: 90_000 },
        (e, stdout, stderr) =>
          e ? reject(new Error(`${e.message}\n${stdout}${stderr}`)) : resolve(stdout + stderr),
      ),
    );
    expect(out).toMatch(
      /ttyw baseline [0-9a-f]{7} on standin \[[█░]{20}\] +\d+% \| step \d+ \| loss 1\.1000 \| 1s left/,
    );
    expect(out).toContain('\u001b[1G'); // redrawn in place, not printed line after line
    const bar = out.lastIndexOf('| step ');
    expect(out.indexOf('[worker] finished', bar)).toBeGreaterThan(bar);
  });
});
