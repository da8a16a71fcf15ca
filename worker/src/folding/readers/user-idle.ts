/**
 * Time since the owner last touched keyboard or mouse, with each platform's own source:
 * Linux `xprintidle` (X11, XScreenSaver extension) when a display is set, else logind's
 * IdleHint/IdleSinceHint of local sessions (`loginctl`; Wayland desktops and consoles);
 * macOS `ioreg -c IOHIDSystem` (HIDIdleTime, ns); Windows GetLastInputInfo through PowerShell.
 * null: no desktop session to ask (a headless box counts as idle).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs a platform tool and returns its stdout; rejects when it is missing or fails. */
export type ToolRunner = (cmd: string, args: string[]) => Promise<string>;

export const runTool: ToolRunner = async (cmd, args) =>
  (await exec(cmd, args, { timeout: 10_000, windowsHide: true })).stdout;

export function parseXprintidle(out: string): number {
  const ms = Number(out.trim());
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`xprintidle printed ${JSON.stringify(out)}`);
  return ms;
}

/** Session ids from `loginctl list-sessions --no-legend`. */
export function parseLoginctlSessions(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((id) => id !== '');
}

/**
 * Idle ms of one session from `loginctl show-session ID -p IdleHint -p IdleSinceHint -p Class -p Remote`;
 * null for sessions that are not a local user's (greeters, ssh logins).
 */
export function parseLoginctlSession(out: string, nowMs: number): number | null {
  const kv = new Map(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as const),
  );
  if (kv.get('Class') !== 'user' || kv.get('Remote') === 'yes') return null;
  if (kv.get('IdleHint') !== 'yes') return 0;
  const sinceUs = Number(kv.get('IdleSinceHint') ?? '0');
  if (!sinceUs) return 0;
  return Math.max(0, nowMs - sinceUs / 1000);
}

/** HIDIdleTime (nanoseconds) from `ioreg -c IOHIDSystem`. */
export function parseIoregIdle(out: string): number {
  const m = /"HIDIdleTime"\s*=\s*(\d+)/.exec(out);
  if (!m) throw new Error('ioreg output has no HIDIdleTime');
  return Math.floor(Number(m[1]) / 1_000_000);
}

/** PowerShell: milliseconds since the last input event of the interactive session. */
export const WINDOWS_IDLE_SCRIPT = [
  'Add-Type @"',
  'using System; using System.Runtime.InteropServices;',
  'public static class RatchetIdle {',
  '  [StructLayout(LayoutKind.Sequential)] struct LII { public uint cbSize; public uint dwTime; }',
  '  [DllImport("user32.dll")] static extern bool GetLastInputInfo(ref LII p);',
  '  public static uint Ms() { var l = new LII(); l.cbSize = (uint)Marshal.SizeOf(l); GetLastInputInfo(ref l);',
  '    return (uint)Environment.TickCount - l.dwTime; } }',
  '"@',
  '[RatchetIdle]::Ms()',
].join('\n');

export function parseWindowsIdle(out: string): number {
  const ms = Number(out.trim().split(/\r?\n/).pop());
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`GetLastInputInfo printed ${JSON.stringify(out)}`);
  return ms;
}

export async function readUserIdleMs(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  tool: ToolRunner = runTool,
  nowMs = Date.now(),
): Promise<number | null> {
  try {
    if (platform === 'darwin') return parseIoregIdle(await tool('ioreg', ['-c', 'IOHIDSystem', '-d', '4']));
    if (platform === 'win32') {
      const encoded = Buffer.from(WINDOWS_IDLE_SCRIPT, 'utf16le').toString('base64');
      return parseWindowsIdle(
        await tool('powershell.exe', ['-NoProfile', '-NonInteractive', '-EncodedCommand', encoded]),
      );
    }
    if (platform !== 'linux') return null;
  } catch {
    return null;
  }
  if (env.DISPLAY) {
    try {
      return parseXprintidle(await tool('xprintidle', []));
    } catch {
      // no xprintidle, or no X server: ask logind
    }
  }
  try {
    const ids = parseLoginctlSessions(await tool('loginctl', ['list-sessions', '--no-legend']));
    const idle: number[] = [];
    for (const id of ids) {
      const out = await tool('loginctl', [
        'show-session',
        id,
        '-p',
        'IdleHint',
        '-p',
        'IdleSinceHint',
        '-p',
        'Class',
        '-p',
        'Remote',
      ]);
      const ms = parseLoginctlSession(out, nowMs);
      if (ms !== null) idle.push(ms);
    }
    return idle.length > 0 ? Math.min(...idle) : null;
  } catch {
    return null;
  }
}
