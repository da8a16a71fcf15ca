/**
 * Stand-ins for hardware tools this machine lacks (nvidia-smi, system_profiler, sysctl):
 * shell scripts put first on PATH that print the real tools' recorded output for the
 * arguments the worker passes, and fail like the real ones for anything else.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits` on a box of `n` cards. */
export function nvidiaSmiOutput(n: number, name = 'NVIDIA H100 80GB HBM3', memoryMb = 81559): string {
  return Array.from(
    { length: n },
    (_, i) => `${i}, ${name}, ${memoryMb}, GPU-${String(i).padStart(8, '0')}-1c2d-4b6a-9f6e-1c2d3e4f5a6b`,
  ).join('\n');
}

/** `system_profiler -detailLevel mini SPHardwareDataType SPDisplaysDataType` on a MacBook Pro, M4 Max, 128 GB. */
export const SYSTEM_PROFILER_M4_MAX = `Hardware:

    Hardware Overview:

      Model Name: MacBook Pro
      Model Identifier: Mac16,6
      Model Number: Z1FW000BJLL/A
      Chip: Apple M4 Max
      Total Number of Cores: 16 (12 performance and 4 efficiency)
      Memory: 128 GB
      System Firmware Version: 11881.61.3
      OS Loader Version: 11881.61.3
      Activation Lock Status: Disabled

Graphics/Displays:

    Apple M4 Max:

      Chipset Model: Apple M4 Max
      Type: GPU
      Bus: Built-In
      Total Number of Cores: 40
      Vendor: Apple (0x106b)
      Metal Support: Metal 3
      Displays:
        Color LCD:
          Display Type: Built-in Liquid Retina XDR Display
          Resolution: 3456 x 2234 Retina
          Main Display: Yes
          Mirror: Off
          Online: Yes
          Automatically Adjust Brightness: Yes
          Connection Type: Internal
`;

/** The same on a MacBook Air, M2, 16 GB. */
export const SYSTEM_PROFILER_M2 = `Hardware:

    Hardware Overview:

      Model Name: MacBook Air
      Model Identifier: Mac14,2
      Model Number: MLY33LL/A
      Chip: Apple M2
      Total Number of Cores: 8 (4 performance and 4 efficiency)
      Memory: 16 GB
      System Firmware Version: 10151.81.1
      OS Loader Version: 10151.81.1

Graphics/Displays:

    Apple M2:

      Chipset Model: Apple M2
      Type: GPU
      Bus: Built-In
      Total Number of Cores: 10
      Vendor: Apple (0x106b)
      Metal Support: Metal 3
`;

/** `sysctl -n machdep.cpu.brand_string hw.memsize hw.ncpu` on an M2 with 16 GB. */
export const SYSCTL_M2 = 'Apple M2\n17179869184\n8\n';

function script(expectedArgs: string, output: string, tool: string): string {
  // A quoted heredoc prints the output byte for byte.
  return `#!/bin/sh
if [ "$*" = "${expectedArgs}" ]; then
cat <<'RATCHET_FAKE_OUTPUT'
${output.replace(/\n$/, '')}
RATCHET_FAKE_OUTPUT
exit 0
fi
echo "${tool}: unexpected arguments: $*" >&2
exit 2
`;
}

export interface FakeTools {
  nvidiaSmi?: string;
  systemProfiler?: string;
  sysctl?: string;
}

/** A directory holding the given fake tools; `pathWith(dir)` puts it first on PATH. */
export async function fakeToolsDir(tools: FakeTools): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-fake-tools-'));
  const write = async (name: string, body: string) => {
    await writeFile(join(dir, name), body);
    await chmod(join(dir, name), 0o755);
  };
  if (tools.nvidiaSmi !== undefined)
    await write(
      'nvidia-smi',
      script(
        '--query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits',
        tools.nvidiaSmi,
        'nvidia-smi',
      ),
    );
  if (tools.systemProfiler !== undefined)
    await write(
      'system_profiler',
      script(
        '-detailLevel mini SPHardwareDataType SPDisplaysDataType',
        tools.systemProfiler,
        'system_profiler',
      ),
    );
  if (tools.sysctl !== undefined)
    await write('sysctl', script('-n machdep.cpu.brand_string hw.memsize hw.ncpu', tools.sysctl, 'sysctl'));
  return dir;
}

export function pathWith(dir: string, path = process.env.PATH ?? ''): string {
  return [dir, path].filter(Boolean).join(delimiter);
}
