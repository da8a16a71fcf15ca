/**
 * Where `ratchet track init|add` read a track from: a folder, or a git URL (`URL#REF`)
 * cloned into a temporary folder. The only module of the CLI that runs git for tracks.
 * Nothing here writes into the user's checkout.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type CheckoutSnapshot, ErrorCodes, RatchetError, type TrackConfig, toError } from '@ratchet/shared';

const run = promisify(execFile);

/** Files a detector reads whole; others are only listed. */
const TEXT = /\.py$|^pyproject\.toml$/;
const MAX_TEXT_BYTES = 1_000_000;

/** `https://…`, `file:///…`, `ssh://…` or scp-like `git@host:path`, with an optional `#REF`. */
export function parseGitSource(src: string): { url: string; ref: string | null } | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(src) && !/^[\w.-]+@[\w.-]+:(?![\\/])/.test(src)) return null;
  const hash = src.lastIndexOf('#');
  if (hash < 0) return { url: src, ref: null };
  const ref = src.slice(hash + 1);
  if (ref === '' || ref.startsWith('-') || /[\s~^:?*[\\]|\.\./.test(ref)) {
    throw new RatchetError(ErrorCodes.BAD_INPUT, `not a git ref: #${ref}`);
  }
  return { url: src.slice(0, hash), ref };
}

async function git(args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      windowsHide: true,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (e) {
    const err = e as { stderr?: string };
    throw new RatchetError(
      ErrorCodes.GIT_FAILED,
      `git ${args[0]}: ${(err.stderr || toError(e).message).trim()}`,
      {
        cause: e,
      },
    );
  }
}

export interface Cloned {
  dir: string;
  commit: string;
  remove(): Promise<void>;
}

/** A clone of `url` at `ref` (a branch, tag or commit; the default branch when null). */
export async function cloneSource(url: string, ref: string | null): Promise<Cloned> {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-track-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await git(['clone', '--quiet', '--', url, dir]);
    if (ref) {
      let sha: string | null = null;
      for (const candidate of [ref, `origin/${ref}`]) {
        sha = await git(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`], dir).catch(() => null);
        if (sha) break;
      }
      if (!sha) throw new RatchetError(ErrorCodes.BAD_INPUT, `${url} has no branch, tag or commit ${ref}`);
      await git(['checkout', '--quiet', '--detach', sha], dir);
    }
    return { dir, commit: await git(['rev-parse', 'HEAD'], dir), remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** Where a local git checkout came from (its `origin` remote and HEAD); null outside git. */
export async function localOrigin(dir: string): Promise<{ url: string; commit: string } | null> {
  const commit = await git(['rev-parse', '--verify', '--quiet', 'HEAD'], dir).catch(() => null);
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) return null;
  const top = await git(['rev-parse', '--show-toplevel'], dir).catch(() => null);
  // git prints the real path; a checkout inside another repository is not its own origin.
  if (!top || (await realpath(top)) !== (await realpath(dir))) return null;
  const url = await git(['config', '--get', 'remote.origin.url'], dir).catch(() => '');
  return { url: url || resolve(dir), commit };
}

/** The top of a checkout as a detector sees it. */
export async function readSnapshot(dir: string): Promise<CheckoutSnapshot> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new RatchetError(ErrorCodes.BAD_INPUT, `cannot read ${dir}: ${toError(e).message}`);
  }
  const paths: string[] = [];
  const text: Record<string, string> = {};
  for (const name of names.sort()) {
    const s = await stat(join(dir, name)).catch(() => null);
    if (!s?.isFile()) continue;
    paths.push(name);
    if (TEXT.test(name) && s.size <= MAX_TEXT_BYTES) text[name] = await readFile(join(dir, name), 'utf8');
  }
  return { paths, text };
}

/** The files a track is made of, read from the checkout: ratchet.json, editable, pinned, program. */
export async function collectTrackFiles(dir: string, cfg: TrackConfig): Promise<Record<string, string>> {
  const files: Record<string, string> = { 'ratchet.json': `${JSON.stringify(cfg, null, 2)}\n` };
  for (const f of [...cfg.editable, ...cfg.pinned]) {
    try {
      files[f] = await readFile(join(dir, f), 'utf8');
    } catch {
      throw new RatchetError(
        ErrorCodes.TRACK_INVALID,
        `${f} is listed in ratchet.json but ${dir} has no such file`,
      );
    }
  }
  const program = await readFile(join(dir, cfg.program), 'utf8').catch(() => null);
  if (program !== null) files[cfg.program] = program;
  return files;
}
