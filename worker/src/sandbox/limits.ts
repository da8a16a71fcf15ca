/**
 * Memory and file-size limits on Linux.
 *
 * Memory: a cgroup caps the resident memory of the whole tree (the kernel's OOM killer ends
 * it, exit 137). Tried in order: a writable cgroup v2 hierarchy (a delegated subtree, or
 * root), then cgroup v1's memory controller (root). Without either (an unprivileged user
 * without systemd delegation), RLIMIT_AS caps each process's address space instead; CUDA
 * reserves far more address space than it uses, so on a GPU that fallback is not applied.
 * Single files: RLIMIT_FSIZE (writes beyond it fail with EFBIG).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `prlimit` (util-linux) in front of a command: per-process limits that its children inherit. */
export function prlimitArgv(opts: { addressSpaceBytes: number | null; fileBytes: number }): string[] {
  const a = ['prlimit', `--fsize=${opts.fileBytes}`, '--core=0'];
  if (opts.addressSpaceBytes !== null) a.push(`--as=${opts.addressSpaceBytes}`);
  a.push('--');
  return a;
}

/** `sh` puts itself into the cgroup, then becomes the command: nothing runs outside it. */
export function cgroupLauncherArgv(procsFile: string, argv: string[]): string[] {
  return ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', procsFile, ...argv];
}

export interface MemoryCgroup {
  kind: 'v2' | 'v1';
  dir: string;
  procsFile: string;
  /** Whether the OOM killer fired in this cgroup. */
  oomKilled(): Promise<boolean>;
  /** Remove the cgroup (its processes are gone by then). */
  remove(): Promise<void>;
}

export interface CgroupRoots {
  /** Mount point of the cgroup v2 hierarchy and this process's cgroup in it. */
  v2: { mount: string; own: string } | null;
  /** Mount point of cgroup v1's memory controller. */
  v1Memory: string | null;
}

/** Where this process's cgroups are, from /proc/self/mountinfo and /proc/self/cgroup. */
export function parseCgroupRoots(mountinfo: string, selfCgroup: string): CgroupRoots {
  let v2Mount: string | null = null;
  let v1Memory: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fsType, , superOpts = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fsType === 'cgroup2' && v2Mount === null) v2Mount = mountPoint;
    if (fsType === 'cgroup' && superOpts.split(',').includes('memory')) v1Memory = mountPoint;
  }
  const own = /^0::(\/.*)$/m.exec(selfCgroup)?.[1] ?? '/';
  return { v2: v2Mount ? { mount: v2Mount, own } : null, v1Memory };
}

async function tryV2(mount: string, own: string, limitBytes: number): Promise<MemoryCgroup | null> {
  // A child of our own cgroup is ours to make only if the parent delegates `memory`.
  for (const parent of [join(mount, own), mount]) {
    try {
      const controllers = await readFile(join(parent, 'cgroup.subtree_control'), 'utf8');
      if (!controllers.split(/\s+/).includes('memory')) continue;
      const dir = join(parent, `ratchet-${randomBytes(6).toString('hex')}`);
      await mkdir(dir);
      try {
        await writeFile(join(dir, 'memory.max'), String(limitBytes));
        await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => {});
      } catch {
        await rmdir(dir).catch(() => {});
        continue;
      }
      return {
        kind: 'v2',
        dir,
        procsFile: join(dir, 'cgroup.procs'),
        async oomKilled() {
          const ev = await readFile(join(dir, 'memory.events'), 'utf8').catch(() => '');
          return /^oom_kill [1-9]/m.test(ev);
        },
        remove: () => rmdir(dir).catch(() => {}),
      };
    } catch {
      // not writable: try the next place
    }
  }
  return null;
}

async function tryV1(mount: string, limitBytes: number): Promise<MemoryCgroup | null> {
  const dir = join(mount, `ratchet-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir);
  } catch {
    return null;
  }
  try {
    await writeFile(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    // Without swap accounting this file is absent; the limit then covers RAM only.
    await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => {});
  } catch {
    await rmdir(dir).catch(() => {});
    return null;
  }
  return {
    kind: 'v1',
    dir,
    procsFile: join(dir, 'cgroup.procs'),
    async oomKilled() {
      const ctl = await readFile(join(dir, 'memory.oom_control'), 'utf8').catch(() => '');
      if (/^oom_kill [1-9]/m.test(ctl)) return true;
      const failcnt = await readFile(join(dir, 'memory.failcnt'), 'utf8').catch(() => '0');
      return Number(failcnt.trim()) > 0;
    },
    remove: () => rmdir(dir).catch(() => {}),
  };
}

/** A fresh memory cgroup with this limit, or null where this user may not make one. */
export async function createMemoryCgroup(limitBytes: number): Promise<MemoryCgroup | null> {
  let roots: CgroupRoots;
  try {
    roots = parseCgroupRoots(
      await readFile('/proc/self/mountinfo', 'utf8'),
      await readFile('/proc/self/cgroup', 'utf8'),
    );
  } catch {
    return null;
  }
  if (roots.v2) {
    const cg = await tryV2(roots.v2.mount, roots.v2.own, limitBytes);
    if (cg) return cg;
  }
  if (roots.v1Memory) return tryV1(roots.v1Memory, limitBytes);
  return null;
}
