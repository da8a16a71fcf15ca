/**
 * macOS: `sandbox-exec` with a Seatbelt profile (the mechanism behind App Sandbox; the command
 * is deprecated but present on every release and used by Chromium, Bazel and Nix builds).
 *
 * Contained: file reads outside the system, the runtime, the checkout and the caches; file
 * writes outside the checkout, the track cache during prepare and a private temp folder;
 * every network operation (unless prepare asks); the environment (allowlist).
 * Not contained: memory (macOS does not enforce RLIMIT_AS/RSS), disk beyond RLIMIT_FSIZE
 * and the worker's polling of the checkout, and processes that leave the process group
 * (no PID namespace): the worker kills the group, a `setsid` daemon survives until logout.
 */
import type { SandboxRun } from './spec.ts';

/** A Seatbelt string literal. */
function lit(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function seatbeltProfile(run: SandboxRun, tmpDir: string): string {
  const readable = [
    '/usr',
    '/bin',
    '/System',
    '/Library/Frameworks',
    '/Library/Apple',
    '/private/var/db/dyld',
    '/private/etc/localtime',
    '/opt/homebrew',
    '/usr/local',
    '/dev',
    ...run.readOnly,
    run.trackCacheDir,
    run.checkoutDir,
    tmpDir,
  ];
  const writable = [run.checkoutDir, tmpDir, ...(run.writableCache ? [run.trackCacheDir] : [])];
  return [
    '(version 1)',
    '(deny default)',
    '(allow process-fork)',
    '(allow process-exec)',
    '(allow signal (target same-sandbox))',
    '(allow sysctl-read)',
    // Metal (MPS, MLX) talks to the GPU through IOKit and these services.
    '(allow iokit-open)',
    '(allow mach-lookup (global-name "com.apple.MTLCompilerService") (global-name "com.apple.system.opendirectoryd.libinfo"))',
    '(allow ipc-posix-shm)',
    // Stat of any path (Python walks parents); contents only where listed below.
    '(allow file-read-metadata)',
    `(allow file-read* ${readable.map((p) => `(subpath ${lit(p)})`).join(' ')})`,
    `(allow file-write* ${writable.map((p) => `(subpath ${lit(p)})`).join(' ')} (literal "/dev/null"))`,
    ...(run.network ? ['(allow network*)'] : []),
    '',
  ].join('\n');
}

/**
 * The argv: background QoS (`taskpolicy -b`: lowest CPU and throttled I/O, inherited by
 * children) when asked, a file-size limit, then `sandbox-exec`.
 */
export function darwinArgv(run: SandboxRun, tmpDir: string, lowPriority: boolean): string[] {
  const blocks = Math.max(1, Math.floor(run.limits.fileBytes / 512));
  return [
    ...(lowPriority ? ['taskpolicy', '-b'] : []),
    '/bin/sh',
    '-c',
    `ulimit -f ${blocks} && exec "$@"`,
    'sh',
    'sandbox-exec',
    '-p',
    seatbeltProfile(run, tmpDir),
    ...run.argv,
  ];
}
