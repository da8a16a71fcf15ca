/**
 * On battery? Linux: /sys/class/power_supply (a `Mains`/`USB` supply online means plugged in;
 * otherwise a `Battery` discharging means on battery). macOS: `pmset -g batt`. Windows:
 * Win32_Battery.BatteryStatus (1 = discharging). null: no battery, or cannot tell.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, type ToolRunner } from './user-idle.ts';

export interface PowerSupply {
  type: string;
  online: string | null;
  status: string | null;
}

export function onBatteryFromSupplies(supplies: PowerSupply[]): boolean | null {
  const mains = supplies.filter((s) => s.type === 'Mains' || s.type === 'USB');
  if (mains.some((s) => s.online === '1')) return false;
  const batteries = supplies.filter((s) => s.type === 'Battery');
  if (batteries.length === 0) return null;
  if (batteries.some((s) => s.status === 'Discharging')) return true;
  return mains.length > 0;
}

export async function readLinuxSupplies(dir = '/sys/class/power_supply'): Promise<PowerSupply[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const read = (n: string, f: string) =>
    readFile(join(dir, n, f), 'utf8').then(
      (s) => s.trim(),
      () => null,
    );
  return Promise.all(
    names.map(async (n) => ({
      type: (await read(n, 'type')) ?? '',
      online: await read(n, 'online'),
      status: await read(n, 'status'),
    })),
  );
}

/** `pmset -g batt`: "Now drawing from 'Battery Power'" or "'AC Power'". */
export function parsePmset(out: string): boolean | null {
  const m = /drawing from '([^']+)'/.exec(out);
  if (!m) return null;
  return m[1] === 'Battery Power';
}

/** `Get-CimInstance Win32_Battery | Select BatteryStatus | ConvertTo-Json`: 1 = discharging. */
export function parseWin32Battery(out: string): boolean | null {
  if (out.trim() === '') return null;
  const parsed = JSON.parse(out) as { BatteryStatus?: number } | { BatteryStatus?: number }[];
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) return null;
  return list.some((b) => b.BatteryStatus === 1);
}

export async function readOnBattery(
  platform: NodeJS.Platform = process.platform,
  tool: ToolRunner = runTool,
  sysDir = '/sys/class/power_supply',
): Promise<boolean | null> {
  try {
    if (platform === 'linux') return onBatteryFromSupplies(await readLinuxSupplies(sysDir));
    if (platform === 'darwin') return parsePmset(await tool('pmset', ['-g', 'batt']));
    if (platform === 'win32')
      return parseWin32Battery(
        await tool('powershell.exe', [
          '-NoProfile',
          '-NonInteractive',
          '-Command',
          'Get-CimInstance Win32_Battery | Select-Object BatteryStatus | ConvertTo-Json',
        ]),
      );
  } catch {
    return null;
  }
  return null;
}
