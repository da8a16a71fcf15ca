/**
 * A clean per-job checkout: fetch the base commit over the coordinator's git HTTP (the
 * token goes in a per-command header, never into .git/config), check it out, apply the patch.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toError } from '@ratchet/shared';
import { simpleGit } from 'simple-git';

export type CheckoutResult = { ok: true; dir: string } | { ok: false; dir: string; patchError: string };

export async function prepareCheckout(opts: {
  jobsDir: string;
  jobId: string;
  gitUrl: string;
  token: string;
  commit: string;
  patch: string | null;
}): Promise<CheckoutResult> {
  const dir = join(opts.jobsDir, opts.jobId);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const git = simpleGit({
    baseDir: dir,
    config: ['user.name=ratchet-worker', 'user.email=worker@localhost', 'advice.detachedHead=false'],
  });
  await git.init(['--initial-branch=job']);
  await git.raw([
    '-c',
    `http.extraHeader=Authorization: Bearer ${opts.token}`,
    'fetch',
    '--depth=1',
    '--no-tags',
    opts.gitUrl,
    opts.commit,
  ]);
  await git.raw(['checkout', '--detach', opts.commit]);
  if (opts.patch === null) return { ok: true, dir };
  const patchFile = join(opts.jobsDir, `${opts.jobId}.diff`);
  await writeFile(patchFile, opts.patch.endsWith('\n') ? opts.patch : `${opts.patch}\n`);
  try {
    await git.raw(['apply', '--check', patchFile]);
    await git.raw(['apply', patchFile]);
    return { ok: true, dir };
  } catch (e) {
    return { ok: false, dir, patchError: toError(e).message.trim().slice(0, 2000) };
  } finally {
    await rm(patchFile, { force: true });
  }
}
