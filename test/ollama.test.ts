/**
 * The Ollama proposer with the real `ollama` client against a loopback server speaking
 * /api/chat; the leaderboard; `ratchet propose --wait` on a real evaluation.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createOllamaProposer } from '@ratchet/coordinator';
import { ErrorCodes } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeOllama, startFakeOllama } from './support/fake-ollama.ts';
import {
  PYTHON,
  qualityPatch,
  startAgent,
  startCoordinator,
  type TestCoordinator,
  waitFor,
} from './support/harness.ts';
import { spawnCli } from './support/procs.ts';
import { createSimWorker, standinLandscape } from './support/sim-worker.ts';

let t: TestCoordinator | null = null;
let ollama: FakeOllama | null = null;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await ollama?.close();
  ollama = null;
  await t?.close();
  t = null;
});

const PROGRAM = '# standin program\nLower QUALITY. Never touch prepare.py.';
const good = (to: string, description = `QUALITY to ${to}`) =>
  JSON.stringify({
    description,
    edits: [{ file: 'train.py', search: 'QUALITY = 1.000000', replace: `QUALITY = ${to}` }],
  });

async function setup(extra: { stream?: boolean } = {}) {
  t = await startCoordinator();
  ollama = await startFakeOllama();
  return createOllamaProposer(t.c.deps, {
    track: 'standin',
    strategy: 'standin-program',
    programMd: PROGRAM,
    host: ollama.url,
    model: 'qwen2.5:0.5b',
    python: PYTHON,
    maxAttempts: 6,
    ...extra,
  });
}

describe('the Ollama proposer', () => {
  it('turns good edits into a queued proposal, with structured output and keep_alive 0', async () => {
    const p = await setup();
    ollama!.script.push({ content: good('0.950000') });
    const id = await p.proposeOne();
    const prop = await t!.admin.proposals.get.query({ id: id! });
    expect(prop.status).toBe('queued');
    expect(prop.proposer).toBe('ollama:qwen2.5:0.5b');
    expect(prop.strategy).toBe('standin-program');
    expect(prop.patch).toContain('+QUALITY = 0.950000');
    const req = ollama!.requests[0]!;
    expect(req.model).toBe('qwen2.5:0.5b');
    expect(req.keep_alive).toBe(0);
    expect(req.format).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['description', 'edits']),
    });
  });

  it('rejects and counts malformed JSON, bad matches, non-editable files and code that does not compile', async () => {
    const p = await setup();
    const edit = (search: string, replace: string, file = 'train.py') =>
      JSON.stringify({ description: 'x', edits: [{ file, search, replace }] });
    ollama!.script.push(
      { content: '{"description": "half an answer", "edits": [' },
      { content: edit('QUALITY = 7.5', 'QUALITY = 1') },
      { content: edit('print(', 'print (') },
      { content: edit('print("prepared")', 'print("x")', 'prepare.py') },
      { content: edit('QUALITY = 1.000000', 'QUALITY = = 1') },
      { content: good('0.960000') },
    );
    const id = await p.proposeOne();
    expect(id).not.toBeNull();
    const counters = await t!.c.deps.store.counters();
    expect(counters['answers:standin-program']).toBe(6);
    expect(counters['invalid:standin-program']).toBe(5);
    expect(counters[`invalid:standin-program:${ErrorCodes.LLM_INVALID_ANSWER}`]).toBe(1);
    expect(counters[`invalid:standin-program:${ErrorCodes.EDIT_NO_MATCH}`]).toBe(1);
    expect(counters[`invalid:standin-program:${ErrorCodes.EDIT_AMBIGUOUS}`]).toBe(1);
    expect(counters[`invalid:standin-program:${ErrorCodes.PATCH_OUTSIDE_EDITABLE}`]).toBe(1);
    expect(counters[`invalid:standin-program:${ErrorCodes.EDIT_DOES_NOT_COMPILE}`]).toBe(1);
    const board = await t!.admin.leaderboard.query();
    expect(board.find((r) => r.strategy === 'standin-program')?.invalidRate).toBeCloseTo(5 / 6, 6);
  });

  it('gives up after its attempts, and reports an unreachable or failing server with a code', async () => {
    const p = await setup();
    ollama!.script.push(
      { content: 'nope' },
      { content: 'nope' },
      { content: 'nope' },
      { content: 'nope' },
      { content: 'nope' },
      { content: 'nope' },
    );
    expect(await p.proposeOne()).toBeNull();
    ollama!.script.push({ status: 404, error: "model 'qwen2.5:0.5b' not found" });
    await expect(p.proposeOne()).rejects.toMatchObject({ code: ErrorCodes.LLM_UNAVAILABLE });
  });

  it('reads streamed answers', async () => {
    const p = await setup({ stream: true });
    ollama!.script.push({ content: good('0.970000') });
    expect(await p.proposeOne()).not.toBeNull();
    expect(ollama!.requests[0]!.stream).toBe(true);
  });

  it('prompts with the program, the frontier file and the shared history; credits merged gains to its strategy', async () => {
    const p = await setup();
    // Trusted: the only worker, it confirms its own screens.
    const token = (await t!.admin.tokens.create.mutate({ role: 'worker', name: 'sim', trusted: true })).token;
    const sim = createSimWorker({
      url: t!.url,
      token,
      name: 'sim',
      file: 'train.py',
      landscape: standinLandscape,
      sigma: 0.002,
      seed: 3,
    });
    const running = sim.run();
    cleanups.push(async () => {
      sim.stop();
      await running;
    });
    await t!.admin.proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '1.020000'),
      description: 'raise QUALITY (human)',
    });
    await waitFor(
      async () => (await t!.admin.proposals.list.query({ track: 'standin' }))[0]?.status === 'discarded',
      30_000,
      'the human proposal',
    );
    ollama!.script.push({ content: good('0.950000', 'lower QUALITY by 5%') });
    const id = (await p.proposeOne())!;
    const prompt = ollama!.requests[0]!.messages.map((m) => m.content).join('\n');
    expect(prompt).toContain('Lower QUALITY. Never touch prepare.py.');
    expect(prompt).toContain('QUALITY = 1.000000');
    expect(prompt).toMatch(/\[discarded\] Δ \+0\.0\d+ on \S+ raise QUALITY \(human\)/);
    await waitFor(
      async () => (await t!.admin.proposals.get.query({ id })).status === 'merged',
      30_000,
      'the merge',
    );
    const row = (await t!.admin.leaderboard.query()).find((r) => r.strategy === 'standin-program')!;
    expect(row.merged).toBe(1);
    expect(Object.values(row.gainByClass)[0]).toBeCloseTo(0.05, 1);
    const human = (await t!.admin.leaderboard.query()).find((r) => r.strategy === 'default')!;
    expect(human.merged).toBe(0);
  });
});

describe('ratchet propose --wait', () => {
  it('blocks until a real evaluation and prints the verdict like a training run', async () => {
    t = await startCoordinator();
    const a = await startAgent(t.url, t.c.adminToken);
    cleanups.push(() => a.stop());
    const work = a.work;
    await writeFile(join(work, 'p.diff'), qualityPatch('1.000000', '0.950000'));
    const cli = spawnCli(
      ['propose', '--track', 'standin', '--patch', join(work, 'p.diff'), '-m', 'lower QUALITY', '--wait'],
      {
        RATCHET_URL: t.url,
        RATCHET_TOKEN: t.c.adminToken,
      },
    );
    const code = await new Promise<number | null>((r) => cli.child.once('exit', (c) => r(c)));
    const out = cli.output();
    expect(out).toMatch(/^---$/m);
    expect(out).toMatch(/^val_bpb:\s+0\.950000$/m);
    expect(out).toMatch(/^status:\s+merged$/m);
    expect(code).toBe(0);
  });
});

describe('folding mode', () => {
  it('a worker with an empty queue proposes with its local LLM, then evaluates the proposal', async () => {
    t = await startCoordinator();
    ollama = await startFakeOllama();
    ollama.script.push({ content: good('0.950000', 'lower QUALITY (folding)') });
    const plain = (await t.admin.tokens.create.mutate({ role: 'worker', name: 'plain' })).token;
    const folding =
      // Trusted: alone in its class, an untrusted token's gains would wait for a second one.
      (
        await t.admin.tokens.create.mutate({
          role: 'worker',
          name: 'folding',
          canPropose: true,
          trusted: true,
        })
      ).token;
    const denied = createClient(t.url, plain).proposals.submit.mutate({
      track: 'standin',
      patch: qualityPatch('1.000000', '0.9'),
      description: 'x',
    });
    await expect(denied).rejects.toMatchObject({ data: { ratchetCode: ErrorCodes.FORBIDDEN } });
    const a = await startAgent(t.url, folding, {
      name: 'volunteer',
      lowPriority: true,
      leaseWaitMs: 300,
      proposeWithOllama: { host: ollama.url, model: 'qwen2.5:0.5b', minIntervalMs: 0 },
    });
    cleanups.push(() => a.stop());
    const p = await waitFor(
      async () =>
        (await t!.admin.proposals.list.query({ track: 'standin' })).find((x) => x.status === 'merged'),
      60_000,
      'the folding proposal to merge',
    );
    expect(p.proposer).toBe('ollama:qwen2.5:0.5b');
    expect(p.description).toBe('lower QUALITY (folding)');
    expect(ollama.requests[0]!.keep_alive).toBe(0);
  });
});
