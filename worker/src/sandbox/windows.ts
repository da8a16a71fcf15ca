/**
 * Windows: a Job object, created by a PowerShell launcher that stays alive as the job's
 * holder. Contained: memory of the whole tree (JOB_MEMORY), priority (IDLE or BELOW_NORMAL
 * class, inherited by every process in the job), and lifetime: when the launcher dies (the
 * worker's `taskkill /T /F`, or the worker itself dying) KILL_ON_JOB_CLOSE ends every process
 * in the job, including ones that left the tree. The environment is the allowlist.
 * Not contained: files and network. The run has the volunteer's user rights; an AppContainer
 * or a separate low-rights account would be needed, and neither is set up here. The docs say so.
 * The child is assigned to the job just after it starts: a process it spawns in its first
 * instant can escape the job (CREATE_SUSPENDED would close that gap).
 */

/** Quote one argument the way CommandLineToArgvW and the MS C runtime read it back. */
export function windowsQuote(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') {
      out += `${'\\'.repeat(backslashes * 2 + 1)}"`;
    } else {
      out += '\\'.repeat(backslashes) + ch;
    }
    backslashes = 0;
  }
  return `${out + '\\'.repeat(backslashes * 2)}"`;
}

const JOB_TYPES = `
using System; using System.Runtime.InteropServices;
public static class RatchetJob {
  [StructLayout(LayoutKind.Sequential)] public struct Basic {
    public long PerProcessUserTimeLimit; public long PerJobUserTimeLimit; public uint LimitFlags;
    public UIntPtr MinimumWorkingSetSize; public UIntPtr MaximumWorkingSetSize; public uint ActiveProcessLimit;
    public UIntPtr Affinity; public uint PriorityClass; public uint SchedulingClass; }
  [StructLayout(LayoutKind.Sequential)] public struct Io { public ulong R, W, O, RB, WB, OB; }
  [StructLayout(LayoutKind.Sequential)] public struct Extended {
    public Basic BasicLimits; public Io IoInfo; public UIntPtr ProcessMemoryLimit; public UIntPtr JobMemoryLimit;
    public UIntPtr PeakProcessMemoryUsed; public UIntPtr PeakJobMemoryUsed; }
  [DllImport("kernel32.dll", SetLastError = true)] public static extern IntPtr CreateJobObject(IntPtr a, string n);
  [DllImport("kernel32.dll", SetLastError = true)] public static extern bool SetInformationJobObject(IntPtr j, int c, ref Extended i, uint n);
  [DllImport("kernel32.dll", SetLastError = true)] public static extern bool AssignProcessToJobObject(IntPtr j, IntPtr p);
}`;

/** Job object limit flags (winnt.h). */
export const JOB_LIMIT = { PRIORITY_CLASS: 0x20, JOB_MEMORY: 0x200, KILL_ON_JOB_CLOSE: 0x2000 } as const;
/** Priority classes (winbase.h). */
export const PRIORITY = { IDLE: 0x40, BELOW_NORMAL: 0x4000, NORMAL: 0x20 } as const;

export function jobObjectScript(opts: {
  argv: string[];
  cwd: string;
  memoryBytes: number;
  priority: keyof typeof PRIORITY;
}): string {
  const [exe, ...args] = opts.argv;
  const ps = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const flags = JOB_LIMIT.KILL_ON_JOB_CLOSE | JOB_LIMIT.JOB_MEMORY | JOB_LIMIT.PRIORITY_CLASS;
  return [
    "$ErrorActionPreference = 'Stop'",
    `Add-Type -TypeDefinition @'${JOB_TYPES}\n'@`,
    '$job = [RatchetJob]::CreateJobObject([IntPtr]::Zero, $null)',
    '$info = New-Object RatchetJob+Extended',
    `$info.BasicLimits.LimitFlags = ${flags}`,
    `$info.BasicLimits.PriorityClass = ${PRIORITY[opts.priority]}`,
    `$info.JobMemoryLimit = [UIntPtr]::new([uint64]${opts.memoryBytes})`,
    '$size = [Runtime.InteropServices.Marshal]::SizeOf($info)',
    "if (-not [RatchetJob]::SetInformationJobObject($job, 9, [ref]$info, $size)) { throw 'SetInformationJobObject failed' }",
    `$p = Start-Process -FilePath ${ps(exe ?? '')} -ArgumentList ${ps(args.map(windowsQuote).join(' ') || ' ')} -WorkingDirectory ${ps(opts.cwd)} -NoNewWindow -PassThru`,
    "if (-not [RatchetJob]::AssignProcessToJobObject($job, $p.Handle)) { $p.Kill(); throw 'AssignProcessToJobObject failed' }",
    '$p.WaitForExit()',
    'exit $p.ExitCode',
  ].join('\n');
}

/** `powershell -EncodedCommand` takes base64 of UTF-16LE: no quoting rules to get wrong. */
export function windowsArgv(opts: Parameters<typeof jobObjectScript>[0]): string[] {
  const encoded = Buffer.from(jobObjectScript(opts), 'utf16le').toString('base64');
  return [
    'powershell.exe',
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-EncodedCommand',
    encoded,
  ];
}
