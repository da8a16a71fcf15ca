/** `ratchet worker`'s folding-mode and sandbox options, their help and their defaults. */
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { DEFAULT_LIMITS, FoldingPrefs, type SandboxLimits } from '@ratchet/worker';

const D = FoldingPrefs.parse({});
const GiB = 1024 ** 3;

export const foldingOptions = {
  folding: { type: 'boolean', default: false },
  'max-other-cpu': { type: 'string' },
  'idle-minutes': { type: 'string' },
  'allow-busy-gpu': { type: 'boolean', default: false },
  'allow-on-battery': { type: 'boolean', default: false },
  hours: { type: 'string' },
  'max-cache-gb': { type: 'string' },
  'finish-if-done': { type: 'string' },
  sandbox: { type: 'string' },
  'memory-limit-gb': { type: 'string' },
  'disk-limit-gb': { type: 'string' },
} as const;

export const WORKER_HELP = `ratchet worker --coordinator URL --token-file FILE [options]

  --token-file FILE          the worker's token (or RATCHET_TOKEN_FILE, RATCHET_TOKEN); --token T
                             works too, but every local user can read it in /proc/<pid>/cmdline

  --once                     run one job, then exit
  --python PATH              interpreter for tracks (default: one with torch, else python3)
  --workdir DIR              checkouts and logs (default ~/.cache/ratchet/worker/NAME)
  --name N  --track ID (repeatable)
  --backend cuda,mps,mlx,cpu  backends to offer (default: what the machine has)
  --hardware-class C         this machine's class name (RATCHET_HARDWARE_CLASS)
  --low-priority             lowest CPU and I/O priority (nice 19 + ionice idle; taskpolicy -b; IDLE class)
  --propose-with-ollama [--ollama-host URL --ollama-model M --strategy-file F]

Folding mode (a volunteer's machine: run only when it is idle, never in the owner's way):
  --folding                  turn it on (implies --low-priority and --sandbox on)
  --max-other-cpu PCT        lease only while other processes use at most PCT% of all cores (default ${D.maxOtherCpuPct})
  --idle-minutes N           lease only after N minutes without keyboard/mouse input; 0 ignores input (default ${D.idleMinutes})
  --allow-busy-gpu           lease even while another process holds the GPU (default: wait for a free GPU)
  --allow-on-battery         run on battery power (default: only on mains)
  --hours HH:MM-HH:MM        only within these local hours, may wrap midnight (default: any time)
  --max-cache-gb N           stop leasing when the caches exceed N GiB (default ${D.maxCacheBytes / GiB})
  --finish-if-done F         when the owner returns, finish a run this far along (0..1), else give it back at once (default ${D.finishIfDoneFraction})

Sandbox (other people's code; Linux bubblewrap, macOS sandbox-exec, Windows Job object):
  --sandbox on|off           default: on with --folding, off otherwise
  --memory-limit-gb N        memory of the training tree (default ${DEFAULT_LIMITS.memoryBytes / GiB})
  --disk-limit-gb N          growth of the job's checkout and track cache (default ${DEFAULT_LIMITS.diskBytes / GiB})
`;

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new RatchetError(ErrorCodes.BAD_INPUT, `${flag} must be a non-negative number`);
  return n;
}

type Values = { [K in keyof typeof foldingOptions]?: string | boolean | undefined };

/** Folding preferences from the flags; null without --folding. Bad values: BAD_INPUT naming the flag. */
export function foldingPrefsFrom(v: Values): FoldingPrefs | null {
  if (!v.folding) return null;
  const cacheGb = num(v['max-cache-gb'] as string | undefined, '--max-cache-gb');
  const r = FoldingPrefs.safeParse({
    maxOtherCpuPct: num(v['max-other-cpu'] as string | undefined, '--max-other-cpu'),
    idleMinutes: num(v['idle-minutes'] as string | undefined, '--idle-minutes'),
    requireFreeGpu: !v['allow-busy-gpu'],
    allowOnBattery: v['allow-on-battery'] === true,
    hours: (v.hours as string | undefined) ?? null,
    maxCacheBytes: cacheGb === undefined ? undefined : Math.round(cacheGb * GiB),
    finishIfDoneFraction: num(v['finish-if-done'] as string | undefined, '--finish-if-done'),
  });
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new RatchetError(ErrorCodes.BAD_INPUT, `folding preferences: ${msg}`);
  }
  return r.data;
}

/** Sandbox limits from the flags; null when the sandbox is off. */
export function sandboxLimitsFrom(v: Values): SandboxLimits | null {
  const mode = (v.sandbox as string | undefined) ?? (v.folding ? 'on' : 'off');
  if (mode !== 'on' && mode !== 'off')
    throw new RatchetError(ErrorCodes.BAD_INPUT, '--sandbox must be on or off');
  if (mode === 'off') return null;
  const mem = num(v['memory-limit-gb'] as string | undefined, '--memory-limit-gb');
  const disk = num(v['disk-limit-gb'] as string | undefined, '--disk-limit-gb');
  return {
    ...DEFAULT_LIMITS,
    ...(mem ? { memoryBytes: Math.round(mem * GiB) } : {}),
    ...(disk ? { diskBytes: Math.round(disk * GiB) } : {}),
  };
}
