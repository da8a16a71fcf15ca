/**
 * For fault tests: a track whose train.py does what a control folder says (sleep, dump what
 * it can see, print a summary too big to report, or finish at once), and a loopback HTTP
 * proxy in front of a coordinator that can drop every connection for a while, as a
 * coordinator restart does.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export function faultTrackFiles(control: string): Record<string, string> {
  const train = `
import json, os, sys, time
CONTROL = ${JSON.stringify(control)}
mode = open(os.path.join(CONTROL, "mode")).read().strip()
job = os.environ.get("RATCHET_JOB_ID", "none")
pids = os.path.join(CONTROL, "pids")
# One file per run: a job that runs again (its lease expired) gets a new one.
run = "%s-%d" % (job, os.getpid())
with open(os.path.join(pids, run + ".tmp"), "w") as f:
    f.write(str(os.getpid()))
os.rename(os.path.join(pids, run + ".tmp"), os.path.join(pids, run))
if mode == "sleep":
    time.sleep(120)
if mode == "dump":
    with open(os.path.join(CONTROL, "env-" + job + ".json"), "w") as f:
        json.dump(dict(os.environ), f)
    # What a hostile run can read of the worker that started it.
    pid = os.getppid()
    while pid > 1:
        cmd = open("/proc/%d/cmdline" % pid, "rb").read().replace(b"\\0", b" ").decode("latin1")
        if "worker" in cmd and "main.ts" in cmd:
            print("SECRET-PROBE cmdline " + cmd)
            for line in open("/proc/%d/environ" % pid, "rb").read().split(b"\\0"):
                name = line.split(b"=")[0].decode("latin1")
                if name in json.loads(open(os.path.join(CONTROL, "probe")).read()):
                    print("SECRET-PROBE " + line.decode("latin1"))
            break
        pid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
print("---")
print("val_bpb:          1.000000")
print("training_seconds: 0.1")
print("num_steps:        5")
if mode == "huge-extra":
    for i in range(4000):
        print("extra_%05d: %s" % (i, "x" * 100))
`;
  return {
    'ratchet.json': JSON.stringify({
      id: 'faults',
      editable: ['train.py'],
      run: { default: ['python', 'train.py'] },
      budgetS: 60,
      hardTimeoutS: 120,
    }),
    'train.py': train,
    'program.md': 'Fault injection.\n',
  };
}

export function pidsDir(control: string): string {
  return join(control, 'pids');
}

export interface FlakyProxy {
  url: string;
  /** Experiment ids of the leases that passed through, in order. */
  leased: string[];
  /** Drop every connection for `ms` right after the next lease passes through. */
  outageAfterNextLease(ms: number): void;
  close(): Promise<void>;
}

export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const to = new URL(target);
  let downUntil = 0;
  let armed = 0;
  const leased: string[] = [];
  const server: Server = createServer((req, res) => {
    if (Date.now() < downUntil) {
      req.socket.destroy();
      return;
    }
    const up = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (upRes) => {
        if (!req.url?.includes('workers.lease')) {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          const id = /"experimentId":"([^"]+)"/.exec(body.toString())?.[1];
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
          if (id) {
            leased.push(id);
            if (armed > 0) {
              downUntil = Date.now() + armed;
              armed = 0;
            }
          }
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    leased,
    outageAfterNextLease(ms) {
      armed = ms;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
