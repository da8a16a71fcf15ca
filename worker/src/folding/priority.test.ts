import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { lowPriorityPrefix } from './priority.ts';

const run = promisify(execFile);

describe('lowest priority', () => {
  it.runIf(process.platform === 'linux')('runs a Linux child at nice 19 in the idle I/O class', async () => {
    const argv = [...lowPriorityPrefix('linux'), '/bin/sh', '-c', 'echo "nice=$(nice)"; ionice -p $$'];
    const { stdout } = await run(argv[0]!, argv.slice(1));
    expect(stdout).toContain('nice=19');
    expect(stdout).toContain('idle');
  });

  it('uses background QoS on macOS and the runner-set priority class on Windows', () => {
    expect(lowPriorityPrefix('darwin')).toEqual(['taskpolicy', '-b']);
    expect(lowPriorityPrefix('win32')).toEqual([]);
  });
});
