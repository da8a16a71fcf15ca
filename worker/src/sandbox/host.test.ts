import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venvBases, whichOnHost } from './index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-host-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('what the sandbox learns from the host', () => {
  it('finds a bare command on PATH, executable files only', async () => {
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a', 'tool'), 'not executable');
    await writeFile(join(dir, 'b', 'tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'b', 'tool'), 0o755);
    expect(await whichOnHost('tool', `${join(dir, 'a')}:${join(dir, 'b')}`)).toBe(join(dir, 'b', 'tool'));
    expect(await whichOnHost('missing', join(dir, 'b'))).toBeNull();
    expect(await whichOnHost('/usr/bin/python3')).toBeNull();
  });

  it("reads a virtual environment's base interpreter from pyvenv.cfg", async () => {
    const venv = join(dir, 'venv');
    await mkdir(venv);
    await writeFile(join(venv, 'pyvenv.cfg'), 'home = /usr/bin\ninclude-system-site-packages = false\n');
    expect(await venvBases([venv, join(dir, 'a')])).toEqual(['/usr']);
  });
});
