/**
 * Hostile train.py files against the real sandbox (bubblewrap, prlimit, a memory cgroup where
 * this user may make one): each tries one escape and must be stopped. The job's checkout sits
 * inside a fake home, next to its `.ssh` and the worker's token file, as on a volunteer's
 * machine. These run as whatever user runs the tests (root here): the sandbox must hold for root.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, runProcess, type Sandbox } from '@ratchet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUvShim } from './support/forks.ts';
import { PYTHON } from './support/harness.ts';
import { processesUnder } from './support/proc-scan.ts';

const MiB = 1024 ** 2;
const SSH_KEY = 'FAKE-SSH-PRIVATE-KEY-0451';
const TOKEN = 'rt_worker_FAKEWORKERTOKEN0451';
const ENV_SECRET = 'innocently-named-but-private-0451';

let home: string;
let cache: string;
let sandbox: Sandbox;
let n = 0;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'ratchet-fakehome-'));
  await mkdir(join(home, '.ssh'), { recursive: true });
  await writeFile(join(home, '.ssh', 'id_ed25519'), `${SSH_KEY}\n`);
  await mkdir(join(home, '.config', 'ratchet'), { recursive: true });
  await writeFile(join(home, '.config', 'ratchet', 'worker.json'), JSON.stringify({ token: TOKEN }));
  cache = join(home, '.cache', 'ratchet');
  await mkdir(join(cache, 'data'), { recursive: true });
  await writeFile(join(cache, 'data', 'corpus.txt'), 'shared track data\n');
  // What a worker process holds: its token and other private variables.
  process.env.RATCHET_TOKEN = TOKEN;
  process.env.SOME_SETTING = ENV_SECRET;
  sandbox = await createSandbox({
    python: PYTHON,
    lowPriority: false,
    home,
    limits: { memoryBytes: 256 * MiB, diskBytes: 24 * MiB, tmpBytes: 8 * MiB, fileBytes: 16 * MiB },
  });
});

afterAll(async () => {
  delete process.env.RATCHET_TOKEN;
  delete process.env.SOME_SETTING;
  await rm(home, { recursive: true, force: true });
});

/** Run `code` as train.py in a fresh checkout inside the fake home, contained. */
async function runHostile(
  code: string,
  opts: { hardTimeoutS?: number; prepare?: boolean; network?: boolean } = {},
) {
  const checkout = join(cache, 'worker', 'w1', 'jobs', `job${++n}`);
  await mkdir(checkout, { recursive: true });
  await writeFile(join(checkout, 'train.py'), code);
  const contained = await sandbox.contain({
    argv: [PYTHON, 'train.py'],
    checkoutDir: checkout,
    trackCacheDir: join(cache, 'tracks', 'hostile'),
    writableCache: opts.prepare ?? false,
    readOnly: [join(cache, 'data')],
    network: opts.network ?? false,
    env: { RATCHET_SEED: '1', RATCHET_DATA_DIR: join(cache, 'data') },
  });
  const logFile = join(checkout, '..', `job${n}.log`);
  const result = await runProcess({
    argv: contained.argv,
    cwd: checkout,
    env: contained.env,
    logFile,
    hardTimeoutS: opts.hardTimeoutS ?? 30,
    signal: contained.signal,
  });
  const limits = await contained.finish();
  const log = await readFile(logFile, 'utf8');
  return { checkout, result, limits, log };
}

const TRY = `
import os, sys
def attempt(name, fn):
    try:
        out = fn()
        print(f"ESCAPED {name}: {out!r}"[:300], flush=True)
    except BaseException as e:
        print(f"blocked {name}: {type(e).__name__}", flush=True)
`;

describe('the sandbox stops hostile training code', () => {
  it('cannot read ~/.ssh, by $HOME or by its real path', async () => {
    const { log, result } = await runHostile(`${TRY}
attempt("home ssh", lambda: open(os.path.expanduser("~/.ssh/id_ed25519")).read())
attempt("real ssh", lambda: open(${JSON.stringify(join(home, '.ssh', 'id_ed25519'))}).read())
attempt("list home", lambda: os.listdir(${JSON.stringify(home)}))
attempt("root ssh", lambda: os.listdir("/root/.ssh"))
`);
    expect(result.exitCode).toBe(0);
    expect(log).not.toContain(SSH_KEY);
    expect(log).not.toContain('ESCAPED home ssh');
    expect(log).not.toContain('ESCAPED real ssh');
    expect(log).not.toContain('ESCAPED root ssh');
    // The home seen inside is only the path down to the checkout: no .ssh, no .config.
    expect(log).not.toMatch(/ESCAPED list home: .*\.ssh/);
    expect(log).toContain('blocked real ssh');
  });

  it('cannot write outside its checkout (home, /tmp of the host, track data, the cache during training)', async () => {
    const targets = {
      home: join(home, 'pwned'),
      hostTmp: join(tmpdir(), `ratchet-pwned-${process.pid}`),
      data: join(cache, 'data', 'pwned'),
      cache: join(cache, 'tracks', 'hostile', 'pwned'),
      usr: '/usr/pwned',
    };
    const { log, checkout } = await runHostile(`${TRY}
${Object.entries(targets)
  .map(([k, p]) => `attempt("write ${k}", lambda: open(${JSON.stringify(p)}, "w").write("x"))`)
  .join('\n')}
attempt("write checkout", lambda: open("inside.txt", "w").write("fine"))
`);
    for (const p of Object.values(targets)) await expect(stat(p)).rejects.toThrow();
    expect(log).toContain('blocked write data');
    expect(log).toContain('blocked write cache');
    expect(log).toContain('blocked write usr');
    // Its own checkout is writable, and what it writes there is there.
    expect(await readFile(join(checkout, 'inside.txt'), 'utf8')).toBe('fine');
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((s) => {
        connections++;
        s.end('hello from the host\n');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('cannot open a socket to a loopback server on the host', async () => {
      const { log } = await runHostile(`${TRY}
import socket
def connect():
    s = socket.create_connection(("127.0.0.1", ${port}), timeout=3)
    return s.recv(100)
attempt("loopback", connect)
attempt("dns", lambda: socket.getaddrinfo("example.com", 80))
`);
      expect(log).toContain('blocked loopback');
      expect(log).not.toContain('hello from the host');
      expect(connections).toBe(0);
    });

    it('lets a prepare step that declares network reach it, and nothing else', async () => {
      const code = `${TRY}
import socket
attempt("loopback", lambda: socket.create_connection(("127.0.0.1", ${port}), timeout=3).recv(100))
attempt("write cache", lambda: open(os.path.expanduser("~/.cache/prepared.txt"), "w").write("data"))
`;
      const { log } = await runHostile(code, { prepare: true, network: true });
      expect(log).toContain('hello from the host');
      expect(connections).toBe(1);
      expect(await readFile(join(cache, 'tracks', 'hostile', 'prepared.txt'), 'utf8')).toBe('data');
      // Training, after it, reads that cache but may not write it.
      const train = await runHostile(`${TRY}
attempt("read cache", lambda: open(os.path.expanduser("~/.cache/prepared.txt")).read())
attempt("write cache", lambda: open(os.path.expanduser("~/.cache/prepared.txt"), "w").write("x"))
`);
      expect(train.log).toContain("ESCAPED read cache: 'data'");
      expect(train.log).toContain('blocked write cache');
    });
  });

  it('leaves no process behind, even one that forks, double-forks and calls setsid', async () => {
    const { checkout, result } = await runHostile(`
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(300):
            with open("heartbeat.txt", "a") as f:
                f.write("beat\\n")
            time.sleep(0.1)
        os._exit(0)
    os._exit(0)
time.sleep(0.5)
print("parent exits", flush=True)
`);
    expect(result.exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    const before = await readFile(join(checkout, 'heartbeat.txt'), 'utf8');
    await new Promise((r) => setTimeout(r, 1000));
    const after = await readFile(join(checkout, 'heartbeat.txt'), 'utf8');
    expect(before.length).toBeGreaterThan(0);
    expect(after).toBe(before);
    expect(processesUnder(checkout)).toEqual([]);
  });

  it('is killed with all its children at the hard timeout, even when it ignores SIGTERM', async () => {
    const { checkout, result } = await runHostile(
      `
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print("stubborn", flush=True)
time.sleep(600)
`,
      { hardTimeoutS: 2 },
    );
    expect(result.timedOut).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(processesUnder(checkout)).toEqual([]);
  });

  it('cannot fill the disk: one huge file, many files, or /tmp', async () => {
    const big = await runHostile(`${TRY}
def one_file():
    with open("huge.bin", "wb") as f:
        for _ in range(64):
            f.write(b"x" * (1024 * 1024))
attempt("one file", one_file)
def tmp_fill():
    with open("/tmp/fill", "wb") as f:
        for _ in range(64):
            f.write(b"x" * (1024 * 1024))
attempt("tmp", tmp_fill)
`);
    expect(big.log).toContain('blocked one file: OSError');
    expect(big.log).toContain('blocked tmp: OSError');
    expect((await stat(join(big.checkout, 'huge.bin'))).size).toBeLessThanOrEqual(16 * MiB);

    const many = await runHostile(
      `
import time
i = 0
while True:
    with open(f"part{i}.bin", "wb") as f:
        f.write(b"y" * (1024 * 1024))
    i += 1
    time.sleep(0.01)
`,
      { hardTimeoutS: 60 },
    );
    expect(many.limits.diskExceededBytes).toBeGreaterThan(24 * MiB);
    expect(many.result.aborted).toBe(true);
    expect(many.result.timedOut).toBe(false);
  });

  it("cannot read the worker's environment, its token file or other processes' environments", async () => {
    const { log } = await runHostile(`${TRY}
print("ENV", sorted(os.environ.items()), flush=True)
attempt("token file", lambda: open(${JSON.stringify(join(home, '.config', 'ratchet', 'worker.json'))}).read())
def all_environs():
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                found.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
            except OSError:
                pass
    return found
print("PROC", all_environs(), flush=True)
attempt("parent", lambda: open(f"/proc/{os.getppid()}/cmdline").read())
`);
    expect(log).toContain('ENV');
    expect(log).toContain('RATCHET_SEED');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(ENV_SECRET);
    expect(log).toContain('blocked token file');
  });

  it('is stopped at its memory limit', async () => {
    const { log, result, limits } = await runHostile(`
chunks = []
for i in range(64):
    chunks.append(bytearray(32 * 1024 * 1024))
print("ESCAPED memory: allocated 2 GiB", flush=True)
`);
    expect(log).not.toContain('ESCAPED memory');
    expect(result.exitCode === 0).toBe(false);
    if (sandbox.memory.startsWith('cgroup')) expect(limits.oomKilled).toBe(true);
  });

  it('runs a uv-shaped track: the tool on PATH and the synced environment are visible, read-only', async () => {
    const bin = join(home, '.local', 'bin');
    await writeUvShim(bin, PYTHON, join(home, 'uv-calls.log'));
    const envDir = join(cache, 'envs', 'abc123');
    await mkdir(join(envDir, 'bin'), { recursive: true });
    const checkout = join(cache, 'worker', 'w1', 'jobs', `job${++n}`);
    await mkdir(checkout, { recursive: true });
    await writeFile(join(checkout, 'uv.lock'), '');
    await writeFile(
      join(checkout, 'train.py'),
      `${TRY}
print("venv", os.environ.get("VIRTUAL_ENV"), os.environ.get("UV_NO_SYNC"), flush=True)
attempt("write env", lambda: open(os.path.join(os.environ["VIRTUAL_ENV"], "pwned"), "w").write("x"))
attempt("list local bin", lambda: os.listdir(${JSON.stringify(bin)}))
`,
    );
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      const contained = await sandbox.contain({
        // As the worker passes it: resolved on the host (worker/src/runner/toolchain.ts).
        argv: [join(bin, 'uv'), 'run', 'train.py'],
        checkoutDir: checkout,
        trackCacheDir: join(cache, 'tracks', 'uv'),
        writableCache: false,
        readOnly: [envDir],
        network: false,
        env: { UV_PROJECT_ENVIRONMENT: envDir },
      });
      const logFile = join(checkout, '..', 'uv.log');
      const r = await runProcess({
        argv: contained.argv,
        cwd: checkout,
        env: contained.env,
        logFile,
        hardTimeoutS: 30,
      });
      await contained.finish();
      const log = await readFile(logFile, 'utf8');
      expect(r.exitCode).toBe(0);
      expect(log).toContain(`venv ${envDir} 1`);
      expect(log).toContain('blocked write env');
      // Only the tool itself is bound from ~/.local/bin.
      expect(log).toContain("ESCAPED list local bin: ['uv']");
    } finally {
      process.env.PATH = saved;
    }
  });

  it('runs as an unprivileged user without capabilities, even when the worker is root', async () => {
    const { log } = await runHostile(`
import os
print("uid", os.getuid(), flush=True)
print([l for l in open("/proc/self/status") if l.startswith("CapEff")][0].strip(), flush=True)
`);
    expect(log).toContain('uid 1000');
    expect(log).toMatch(/CapEff:\s+0{16}/);
  });
});
