/**
 * A track's program travels with it and is what proposers read: a checkout whose research
 * program lives at `notes/agenda.md` is imported with `ratchet track add`, and the
 * coordinator's Ollama proposer (against a loopback server speaking Ollama's protocol)
 * opens its conversation with that text — not with a built-in instruction.
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, createCoordinator, loadConfig } from '@ratchet/coordinator';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeOllama, startFakeOllama } from './support/fake-ollama.ts';
import { FORKS, writeFork } from './support/forks.ts';
import { cleanRedis, PYTHON, uniquePrefix, waitFor } from './support/harness.ts';
import { spawnCli } from './support/procs.ts';

const root = await mkdtemp(join(tmpdir(), 'ratchet-program-'));
const prefix = uniquePrefix('program');
let coordinator: Coordinator | null = null;
let ollama: FakeOllama | null = null;
afterAll(async () => {
  await coordinator?.close();
  await ollama?.close();
  await cleanRedis(prefix);
  await rm(root, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<{ c: Coordinator; url: string }> {
  const c = await createCoordinator(
    loadConfig({
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      RATCHET_DATA_DIR: join(root, 'data'),
      RATCHET_REDIS_PREFIX: prefix,
      RATCHET_PORT: '0',
      RATCHET_LOG_LEVEL: 'silent',
      RATCHET_PYTHON: PYTHON,
      ...env,
    }),
  );
  coordinator = c;
  return { c, url: await c.start() };
}

describe("a track's program", () => {
  it('is imported from where ratchet.json says and is what the Ollama proposer reads', async () => {
    const dir = join(root, 'mlx');
    await writeFork(dir, 'mlx');
    await mkdir(join(dir, 'notes'));
    await rename(join(dir, 'program.md'), join(dir, 'notes', 'agenda.md'));
    const { c, url } = await start();
    const env = { RATCHET_URL: url, RATCHET_TOKEN: c.adminToken };
    const init = spawnCli(['track', 'init', dir], env);
    expect(await init.exit(60_000), init.output()).toBe(0);
    expect(init.output()).toContain('warning: no program.md');
    const cfg = JSON.parse(await readFile(join(dir, 'ratchet.json'), 'utf8'));
    await writeFile(join(dir, 'ratchet.json'), JSON.stringify({ ...cfg, program: 'notes/agenda.md' }));
    const add = spawnCli(['track', 'add', dir], env);
    expect(await add.exit(60_000), add.output()).toBe(0);
    expect(add.output()).toContain('proposers read notes/agenda.md');
    await c.close();
    coordinator = null;

    // The same coordinator again, now keeping the imported track fed by its Ollama proposer.
    ollama = await startFakeOllama();
    await start({ RATCHET_OLLAMA_TRACKS: FORKS.mlx.id, OLLAMA_HOST: ollama.url });
    const first = await waitFor(async () => ollama!.requests[0], 30_000, 'a request to Ollama');
    const system = first.messages.find((m) => m.role === 'system')!.content;
    expect(system).toContain(FORKS.mlx.programLine);
    expect(system.startsWith(`# ${FORKS.mlx.upstream}`)).toBe(true);
  }, 180_000);
});
