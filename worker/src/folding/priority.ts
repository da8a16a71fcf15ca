/**
 * The lowest priority each OS offers, as a command prefix that the training tree inherits.
 * Linux: nice 19 and the idle I/O class (ionice -c 3: disk only when nobody else wants it).
 * macOS: `taskpolicy -b`, background QoS (lowest CPU priority, throttled I/O, efficiency cores).
 * Windows: no prefix; the runner sets the IDLE priority class on the process (os.setPriority 19)
 * and, in the sandbox, the Job object holds the whole tree at IDLE.
 */
export function lowPriorityPrefix(platform: NodeJS.Platform): string[] {
  if (platform === 'linux') return ['nice', '-n', '19', 'ionice', '-c', '3'];
  if (platform === 'darwin') return ['taskpolicy', '-b'];
  return [];
}
