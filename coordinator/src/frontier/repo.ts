/**
 * The frontier: a bare git repository under the data dir, one branch `tracks/<id>` per
 * track. The only module that runs git for the coordinator (through simple-git). Patches
 * are applied through a temporary index, so the bare repository never needs a work tree,
 * and a branch only moves by compare-and-swap (`update-ref NEW OLD`).
 */

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, RatchetError, toError } from '@ratchet/shared';
import { type SimpleGit, simpleGit } from 'simple-git';
import { quickCheckApply, quickCompose, quickRebase } from './fast-path.ts';
import { resolveNeighbouring, type SourceCheck } from './resolve.ts';

export interface CommitPatchInput {
  trackId: string;
  base: string;
  patch: string;
  message: string;
  /**
   * Called with the new commit before the branch moves to it: what must be known of the new
   * head before anyone can lease on it (its baselines) is recorded here.
   */
  beforeAdvance?: (commit: string) => Promise<void>;
}

export type ApplyCheck = { ok: true } | { ok: false; message: string };

/** A patch carried from its base onto a newer head by a 3-way merge. */
export type RebaseResult =
  | { status: 'clean'; patch: string }
  | { status: 'conflict'; hunk: string; files: string[] };

export interface Frontier {
  readonly path: string;
  init(): Promise<void>;
  importTrack(trackId: string, files: Record<string, string>, message: string): Promise<string>;
  head(trackId: string): Promise<string | null>;
  hasCommit(sha: string): Promise<boolean>;
  checkApply(base: string, patch: string): Promise<ApplyCheck>;
  /** Commit `patch` on `base` and move the branch, only if the branch is still at `base`. */
  commitPatch(input: CommitPatchInput): Promise<string>;
  readFile(commit: string, path: string): Promise<string>;
  /** 3-way: (base + patch) merged with head; the result as a patch on head, or the conflict. */
  rebase(base: string, patch: string, head: string): Promise<RebaseResult>;
  /**
   * Several (base, patch) carried onto head one after another, each 3-way merged with the
   * result so far: the union as one patch on head, and what became of each item.
   */
  compose(head: string, items: { base: string; patch: string }[]): Promise<ComposeResult>;
  /** `patch` on `base` as a commit off every branch (a speculative base); its sha. */
  speculate(base: string, patch: string): Promise<string>;
  /** The tree of a commit: two commits with one tree hold the same code. */
  treeOf(commit: string): Promise<string>;
}

export interface ComposeResult {
  patch: string;
  outcomes: ({ status: 'included' } | { status: 'empty' } | { status: 'conflict'; hunk: string })[];
}

/** The first conflict region (<<<<<<< … >>>>>>>) of a file, with a little context. */
export function conflictHunk(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('<<<<<<<'));
  if (start < 0) return '';
  let end = start;
  while (end < lines.length && !lines[end]!.startsWith('>>>>>>>')) end++;
  return lines.slice(Math.max(0, start - 2), Math.min(lines.length, end + 3)).join('\n');
}

const IDENTITY = ['user.name=ratchet', 'user.email=ratchet@localhost'];
const ZERO = '0000000000000000000000000000000000000000';

export function branchOf(trackId: string): string {
  return `tracks/${trackId}`;
}

export function createFrontier(opts: {
  path: string;
  tmpDir: string;
  /** Checks a file merged line by line where git saw a conflict (changes on neighbouring lines). */
  check?: SourceCheck;
}): Frontier {
  const { path, tmpDir } = opts;
  const git = (env?: Record<string, string>): SimpleGit => {
    const g = simpleGit({ baseDir: path, config: IDENTITY, allowEnvironment: ['GIT_INDEX_FILE'] });
    return env
      ? g.env({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...env })
      : g;
  };
  const gitErr = (e: unknown, what: string) =>
    new RatchetError(ErrorCodes.GIT_FAILED, `${what}: ${toError(e).message.trim()}`, { cause: e });

  // Leases, proposers and workers ask for heads and files all the time; spawning git for
  // each is the coordinator's main cost under many workers. Refs are read from the repo's
  // files (loose, then packed: exact, no process), and files of a commit are immutable.
  const fileCache = new Map<string, string>();
  const FILE_CACHE_MAX = 512;
  const knownCommits = new Set<string>();
  const FULL_SHA = /^[0-9a-f]{40}$/;

  async function readRef(ref: string): Promise<string | null> {
    try {
      const loose = (await readFile(join(path, ref), 'utf8')).trim();
      if (FULL_SHA.test(loose)) return loose;
    } catch {
      // not a loose ref: look in packed-refs
    }
    try {
      const packed = await readFile(join(path, 'packed-refs'), 'utf8');
      for (const line of packed.split('\n')) {
        const [sha, name] = line.trim().split(' ');
        if (name === ref && sha && FULL_SHA.test(sha)) return sha;
      }
    } catch {
      // no packed refs
    }
    return null;
  }

  async function withIndex<T>(fn: (g: SimpleGit, dir: string) => Promise<T>): Promise<T> {
    await mkdir(tmpDir, { recursive: true });
    const dir = await mkdtemp(join(tmpDir, 'idx-'));
    try {
      return await fn(git({ GIT_INDEX_FILE: join(dir, 'index') }), dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function treeWithPatch(g: SimpleGit, dir: string, base: string, patch: string, check: boolean) {
    const file = join(dir, 'p.diff');
    await writeFile(file, patch.endsWith('\n') ? patch : `${patch}\n`);
    await g.raw(['read-tree', base]);
    await g.raw(['apply', '--cached', ...(check ? ['--check'] : []), file]);
  }

  /**
   * (base + patch) 3-way merged with `onto` (`git merge-tree`): the merged tree, or the
   * conflict with its first hunk. Throws when the patch does not apply to its base.
   */
  async function mergeOnto(g: SimpleGit, dir: string, onto: string, base: string, patch: string) {
    await treeWithPatch(g, dir, base, patch, false);
    const tree = (await g.raw(['write-tree'])).trim();
    const candidate = (await g.raw(['commit-tree', tree, '-p', base, '-m', 'ratchet candidate'])).trim();
    // Exit 1 with output on conflicts: simple-git returns the output rather than throwing.
    const out = await g.raw(['merge-tree', '--write-tree', '--name-only', onto, candidate]);
    const [merged, ...rest] = out.split('\n');
    const conflicted = rest.filter((l) => l.trim() !== '' && !/^(Auto-merging|CONFLICT)/.test(l));
    if (/CONFLICT/.test(out) || conflicted.length > 0) {
      const files = [...new Set(conflicted.map((l) => l.trim()))];
      // Changes to neighbouring lines are not conflicts: git's context says they are.
      const tree = await resolveNeighbouring(g, dir, {
        base,
        onto,
        candidate,
        mergedTree: merged!.trim(),
        files,
        ...(opts.check ? { check: opts.check } : {}),
      });
      if (tree) return { status: 'merged' as const, tree };
      const first = files[0];
      const text = first ? await g.raw(['show', `${merged!.trim()}:${first}`]).catch(() => '') : '';
      return { status: 'conflict' as const, hunk: conflictHunk(text) || out.slice(0, 2000), files };
    }
    return { status: 'merged' as const, tree: merged!.trim() };
  }

  return {
    path,
    async init() {
      await mkdir(path, { recursive: true });
      const g = simpleGit({ baseDir: path, config: IDENTITY });
      if (!(await g.checkIsRepo().catch(() => false))) await g.init(true, ['--initial-branch=main']);
      await g.addConfig('uploadpack.allowAnySHA1InWant', 'true');
      await g.addConfig('http.receivepack', 'false');
      await g.addConfig('receive.denyNonFastForwards', 'true');
    },
    async importTrack(trackId, files, message) {
      return withIndex(async (g, dir) => {
        const tree = join(dir, 'tree');
        for (const [rel, content] of Object.entries(files)) {
          await mkdir(dirname(join(tree, rel)), { recursive: true });
          await writeFile(join(tree, rel), content);
        }
        try {
          for (const rel of Object.keys(files).sort()) {
            const blob = (await g.raw(['hash-object', '-w', '--', join(tree, rel)])).trim();
            await g.raw(['update-index', '--add', '--cacheinfo', `100644,${blob},${rel}`]);
          }
          const treeId = (await g.raw(['write-tree'])).trim();
          const commit = (await g.raw(['commit-tree', treeId, '-m', message])).trim();
          await g.raw(['update-ref', `refs/heads/${branchOf(trackId)}`, commit, ZERO]);
          return commit;
        } catch (e) {
          if (/reference already exists|expected/.test(toError(e).message)) {
            throw new RatchetError(ErrorCodes.TRACK_EXISTS, `track ${trackId} already exists`);
          }
          throw gitErr(e, 'import track');
        }
      });
    },
    async head(trackId) {
      const ref = `refs/heads/${branchOf(trackId)}`;
      const fast = await readRef(ref);
      if (fast) return fast;
      try {
        const out = await git().raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branchOf(trackId)}`]);
        return out.trim() || null;
      } catch {
        return null;
      }
    },
    async hasCommit(sha) {
      if (knownCommits.has(sha)) return true;
      try {
        const t = await git().raw(['cat-file', '-t', sha]);
        if (t.trim() !== 'commit') return false;
        if (FULL_SHA.test(sha)) knownCommits.add(sha);
        return true;
      } catch {
        return false;
      }
    },
    async checkApply(base, patch) {
      if (await quickCheckApply(readCached, base, patch)) return { ok: true } as const;
      return withIndex(async (g, dir) => {
        try {
          await treeWithPatch(g, dir, base, patch, true);
          return { ok: true } as const;
        } catch (e) {
          return { ok: false, message: toError(e).message.trim().slice(0, 1000) } as const;
        }
      });
    },
    async commitPatch({ trackId, base, patch, message, beforeAdvance }) {
      const commit = await withIndex(async (g, dir) => {
        try {
          await treeWithPatch(g, dir, base, patch, false);
        } catch (e) {
          throw new RatchetError(ErrorCodes.PATCH_DOES_NOT_APPLY, toError(e).message.trim(), { cause: e });
        }
        try {
          const treeId = (await g.raw(['write-tree'])).trim();
          return (await g.raw(['commit-tree', treeId, '-p', base, '-m', message])).trim();
        } catch (e) {
          throw gitErr(e, 'commit patch');
        }
      });
      await beforeAdvance?.(commit);
      try {
        // Compare-and-swap: the branch moves only from `base`.
        await git().raw(['update-ref', `refs/heads/${branchOf(trackId)}`, commit, base]);
      } catch (e) {
        throw gitErr(e, 'commit patch');
      }
      return commit;
    },
    async rebase(base, patch, head) {
      const quick = await quickRebase(readCached, base, patch, head, opts.check);
      if (quick) return quick;
      return withIndex(async (g, dir) => {
        let m: Awaited<ReturnType<typeof mergeOnto>>;
        try {
          m = await mergeOnto(g, dir, head, base, patch);
        } catch (e) {
          throw new RatchetError(ErrorCodes.PATCH_DOES_NOT_APPLY, toError(e).message.trim(), { cause: e });
        }
        if (m.status === 'conflict') return m;
        const diff = await g.raw(['diff', '--no-color', '--no-ext-diff', head, m.tree]);
        return { status: 'clean' as const, patch: diff };
      });
    },
    async compose(head, items) {
      const quick = await quickCompose(readCached, head, items, opts.check);
      if (quick) return quick;
      return withIndex(async (g, dir) => {
        let cur = head;
        let curTree = (await g.raw(['rev-parse', `${head}^{tree}`])).trim();
        const outcomes: ComposeResult['outcomes'] = [];
        for (const it of items) {
          let m: Awaited<ReturnType<typeof mergeOnto>>;
          try {
            m = await mergeOnto(g, dir, cur, it.base, it.patch);
          } catch (e) {
            outcomes.push({ status: 'conflict', hunk: toError(e).message.trim().slice(0, 2000) });
            continue;
          }
          if (m.status === 'conflict') outcomes.push({ status: 'conflict', hunk: m.hunk });
          else if (m.tree === curTree) outcomes.push({ status: 'empty' });
          else {
            cur = (await g.raw(['commit-tree', m.tree, '-p', cur, '-m', 'ratchet compose'])).trim();
            curTree = m.tree;
            outcomes.push({ status: 'included' });
          }
        }
        const patch = cur === head ? '' : await g.raw(['diff', '--no-color', '--no-ext-diff', head, cur]);
        return { patch, outcomes };
      });
    },
    async speculate(base, patch) {
      return withIndex(async (g, dir) => {
        try {
          await treeWithPatch(g, dir, base, patch, false);
        } catch (e) {
          throw new RatchetError(ErrorCodes.PATCH_DOES_NOT_APPLY, toError(e).message.trim(), { cause: e });
        }
        const treeId = (await g.raw(['write-tree'])).trim();
        return (await g.raw(['commit-tree', treeId, '-p', base, '-m', 'ratchet speculative base'])).trim();
      });
    },
    async treeOf(commit) {
      try {
        return (await git().raw(['rev-parse', `${commit}^{tree}`])).trim();
      } catch (e) {
        throw gitErr(e, `tree of ${commit}`);
      }
    },
    readFile: (commit, file) => readCached(commit, file),
  };

  async function readCached(commit: string, file: string): Promise<string> {
    const key = `${commit}:${file}`;
    const cached = fileCache.get(key);
    if (cached !== undefined) return cached;
    try {
      const content = await git().raw(['show', key]);
      if (FULL_SHA.test(commit)) {
        if (fileCache.size >= FILE_CACHE_MAX) fileCache.delete(fileCache.keys().next().value!);
        fileCache.set(key, content);
      }
      return content;
    } catch (e) {
      throw gitErr(e, `read ${file}`);
    }
  }
}
