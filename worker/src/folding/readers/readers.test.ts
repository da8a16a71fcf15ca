import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  onBatteryFromSupplies,
  parsePmset,
  parseWin32Battery,
  readLinuxSupplies,
  readOnBattery,
} from './battery.ts';
import { otherCpuShare, parsePidStat, parseProcStat, treeTicks } from './cpu.ts';
import { foreignPids, parseComputeApps, readForeignGpuPids } from './gpu.ts';
import {
  parseIoregIdle,
  parseLoginctlSession,
  parseLoginctlSessions,
  parseWindowsIdle,
  parseXprintidle,
  readUserIdleMs,
} from './user-idle.ts';

let bin: string;
const savedPath = process.env.PATH;
const savedDisplay = process.env.DISPLAY;
beforeAll(async () => {
  bin = await mkdtemp(join(tmpdir(), 'ratchet-fakebin-'));
});
afterAll(async () => {
  process.env.PATH = savedPath;
  if (savedDisplay === undefined) delete process.env.DISPLAY;
  else process.env.DISPLAY = savedDisplay;
  await rm(bin, { recursive: true, force: true });
});

/** A stand-in for a platform tool on PATH (only where the real one cannot run here). */
async function fakeTool(name: string, script: string) {
  const p = join(bin, name);
  await writeFile(p, `#!/bin/sh\n${script}\n`);
  await chmod(p, 0o755);
  process.env.PATH = `${bin}${delimiter}${savedPath}`;
}

const allStats = async () => {
  const { readdir } = await import('node:fs/promises');
  const out = [];
  for (const n of await readdir('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const s = await readFile(`/proc/${n}/stat`, 'utf8').catch(() => null);
    if (s) out.push(parsePidStat(s));
  }
  return out;
};

describe('CPU readings from /proc', () => {
  it('parses the real /proc/stat and /proc/self/stat', async () => {
    const s = parseProcStat(await readFile('/proc/stat', 'utf8'));
    expect(s.total).toBeGreaterThan(s.idle);
    const me = parsePidStat(await readFile('/proc/self/stat', 'utf8'));
    expect(me.pid).toBe(process.pid);
    expect(me.ppid).toBe(process.ppid);
  });

  it('reads a command name with spaces and parentheses', () => {
    const line = '42 (a b) c) S 7 42 42 0 -1 4194560 1 0 0 0 150 25 0 0 20 0 1 0 100 0 0';
    expect(parsePidStat(line)).toEqual({ pid: 42, ppid: 7, ticks: 175 });
  });

  it("counts a spinning child's time as the worker's own", async () => {
    const child = spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    try {
      const before = treeTicks(await allStats(), process.pid);
      await new Promise((r) => setTimeout(r, 1500));
      const stats = await allStats();
      expect(treeTicks(stats, process.pid) - before).toBeGreaterThan(20);
      expect(treeTicks(stats, child.pid!)).toBe(stats.find((s) => s.pid === child.pid)?.ticks);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("subtracts the worker's own time from the machine's busy time", () => {
    const a = { total: 1000, idle: 500, own: 100 };
    expect(otherCpuShare(a, { total: 2000, idle: 1000, own: 400 })).toBeCloseTo(0.2);
    // A child that exited takes its ticks out of the tree: never below zero.
    expect(otherCpuShare(a, { total: 2000, idle: 1000, own: 0 })).toBeCloseTo(0.5);
    expect(otherCpuShare(a, a)).toBe(0);
  });
});

describe('GPU readings from nvidia-smi', () => {
  it('parses the compute-apps list of recorded outputs', () => {
    expect(parseComputeApps('12345, /usr/bin/python3, 20480\n678, Xorg, 12\n')).toEqual([12345, 678]);
    expect(parseComputeApps('No running processes found\n')).toEqual([]);
    expect(parseComputeApps('')).toEqual([]);
    expect(foreignPids([1, 2, 3], new Set([2]))).toEqual([1, 3]);
  });

  it("reports a foreign GPU process but not the worker's own runs", async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await fakeTool('nvidia-smi', `echo "${child.pid}, python3, 2048"; echo "999999, blender, 4096"`);
      expect(await readForeignGpuPids()).toEqual([999999]);
      await fakeTool('nvidia-smi', 'exit 9');
      expect(await readForeignGpuPids()).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('user idle time', () => {
  it('parses recorded outputs of xprintidle, loginctl, ioreg and GetLastInputInfo', () => {
    expect(parseXprintidle('254310\n')).toBe(254310);
    expect(() => parseXprintidle("Couldn't open display\n")).toThrow();
    expect(parseLoginctlSessions('      2 1000 alice seat0 tty2\n     c1  120 gdm   seat0 tty1\n')).toEqual([
      '2',
      'c1',
    ]);
    const now = Date.UTC(2026, 10, 28, 2, 0, 0);
    const sinceUs = (now - 600_000) * 1000;
    expect(parseLoginctlSession(`IdleHint=yes\nIdleSinceHint=${sinceUs}\nClass=user\nRemote=no\n`, now)).toBe(
      600_000,
    );
    expect(parseLoginctlSession('IdleHint=no\nIdleSinceHint=0\nClass=user\nRemote=no\n', now)).toBe(0);
    expect(parseLoginctlSession('IdleHint=yes\nIdleSinceHint=1\nClass=greeter\nRemote=no\n', now)).toBeNull();
    expect(parseLoginctlSession('IdleHint=no\nIdleSinceHint=0\nClass=user\nRemote=yes\n', now)).toBeNull();
    const ioreg = `+-o IOHIDSystem  <class IOHIDSystem, id 0x100000483, registered, matched, active, busy 0 (0 ms), retain 29>
    {
      "HIDIdleTime" = 125000000000
      "IOGeneralInterest" = "IOCommand is not serializable"
    }`;
    expect(parseIoregIdle(ioreg)).toBe(125_000);
    expect(parseWindowsIdle('4321\r\n')).toBe(4321);
  });

  it('asks xprintidle when there is a display, and loginctl otherwise', async () => {
    await fakeTool('xprintidle', 'echo 42000');
    await fakeTool('loginctl', 'exit 1');
    expect(await readUserIdleMs('linux', { DISPLAY: ':0' })).toBe(42000);
    expect(await readUserIdleMs('linux', {})).toBeNull();
    const now = Date.now();
    await fakeTool(
      'loginctl',
      `if [ "$1" = list-sessions ]; then echo "  3 1000 vol seat0 tty2"; echo "  9 1000 vol"; exit 0; fi
if [ "$2" = 3 ]; then printf 'IdleHint=yes\\nIdleSinceHint=${(now - 300_000) * 1000}\\nClass=user\\nRemote=no\\n'; fi
if [ "$2" = 9 ]; then printf 'IdleHint=no\\nIdleSinceHint=0\\nClass=user\\nRemote=yes\\n'; fi`,
    );
    const ms = await readUserIdleMs('linux', {}, undefined, now);
    expect(ms).toBe(300_000);
  });

  it('on macOS and Windows, reads their tools and null when a tool fails', async () => {
    const tool = async (cmd: string) => {
      if (cmd === 'ioreg') return '"HIDIdleTime" = 5000000';
      throw new Error('not here');
    };
    expect(await readUserIdleMs('darwin', {}, tool)).toBe(5);
    expect(await readUserIdleMs('win32', {}, tool)).toBeNull();
  });
});

describe('battery', () => {
  it('reads a laptop sysfs tree and the real one here', async () => {
    const sys = await mkdtemp(join(tmpdir(), 'ratchet-psu-'));
    try {
      await mkdir(join(sys, 'AC'));
      await writeFile(join(sys, 'AC', 'type'), 'Mains\n');
      await writeFile(join(sys, 'AC', 'online'), '0\n');
      await mkdir(join(sys, 'BAT0'));
      await writeFile(join(sys, 'BAT0', 'type'), 'Battery\n');
      await writeFile(join(sys, 'BAT0', 'status'), 'Discharging\n');
      expect(await readOnBattery('linux', undefined, sys)).toBe(true);
      await writeFile(join(sys, 'AC', 'online'), '1\n');
      expect(await readOnBattery('linux', undefined, sys)).toBe(false);
    } finally {
      await rm(sys, { recursive: true, force: true });
    }
    // This machine is a server: no battery in /sys/class/power_supply.
    const real = await readLinuxSupplies();
    const verdict = onBatteryFromSupplies(real);
    if (real.some((s) => s.type === 'Battery')) expect(typeof verdict).toBe('boolean');
    else expect(verdict).toBeNull();
  });

  it('parses recorded pmset and Win32_Battery outputs', () => {
    expect(
      parsePmset(
        "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t85%; discharging; 4:12 remaining present: true\n",
      ),
    ).toBe(true);
    expect(
      parsePmset(
        "Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n",
      ),
    ).toBe(false);
    expect(parsePmset('')).toBeNull();
    expect(parseWin32Battery('{\n    "BatteryStatus":  1\n}\n')).toBe(true);
    expect(parseWin32Battery('{\n    "BatteryStatus":  2\n}\n')).toBe(false);
    expect(parseWin32Battery('')).toBeNull();
  });
});
