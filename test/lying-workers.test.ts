/**
 * Only real gains merge, even when a worker lies: a real coordinator, real Redis, real worker
 * agents running a known-answer train.py (real Python processes), each volunteer with a token
 * of its own and none trusted, and a scripted liar speaking the worker API. Every scenario
 * submits real gains and null patches of known effect and counts false accepts (a null
 * patch merged) and lost gains (a real gain not merged); each prints its figures.
 */

import { pooledNoise } from '@ratchet/coordinator';
import type { HardwareProfile, Proposal } from '@ratchet/shared';
import { FINAL_PROPOSAL_STATUSES, hardwareClassOf } from '@ratchet/shared';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startAgent,
  startCoordinator,
  TEST_CPU_PROFILE,
  type TestCoordinator,
  waitFor,
} from './support/harness.ts';
import {
  KNOWN_SIGMA,
  KNOWN_TRACK_ID,
  type KnownPatch,
  knownAnswerTrack,
  NULL_PATCHES,
  REAL_GAINS,
} from './support/known-answer-track.ts';
import { createLiarWorker, type LiarOptions, type LiarWorker } from './support/liar-worker.ts';

const TRACK = KNOWN_TRACK_ID;
/** Each scenario runs some 30–50 real Python jobs; a loaded machine takes minutes. */
const SCENARIO_MS = 300_000;
const CLASS_X = hardwareClassOf(TEST_CPU_PROFILE);
const OTHER_PROFILE: HardwareProfile = { ...TEST_CPU_PROFILE, cpuModel: 'Other Test CPU', cpuCores: 8 };
const knownLandscape = (c: Record<string, number>) => (c.QUALITY ?? 1) - (c.BONUS ?? 0) - (c.EXTRA ?? 0);
/**
 * The coordinator of every scenario: the known-answer track, and a final test at α = 0.003,
 * pinned so that these scenarios do not move with the default (0.002, t 5.95 at ν = 4). At
 * α 0.01 honest noise alone merges a null patch about one time in a hundred, and with 20 null
 * patches over these scenarios "no false accept" would fail now and then with no liar
 * involved. At 0.001 a real gain was lost instead: 10σ, judged at ν = 4 by a σ̂ 1.8× the
 * truth, t −7.14 against t(0.999, 4) = 7.17. At 0.003 (t 5.32 at ν = 4) what is counted here
 * stays on the liars.
 */
const coordinator = async () =>
  startCoordinator({ RATCHET_TRACKS: await knownAnswerTrack(), RATCHET_ALPHA: '0.003' });

let t: TestCoordinator | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await t?.close();
  t = null;
});

async function volunteerToken(tc: TestCoordinator, name: string): Promise<string> {
  return (await tc.admin.tokens.create.mutate({ role: 'worker', name })).token;
}

/** A real worker agent (Python runs) of a volunteer with a token of its own. */
async function honest(tc: TestCoordinator, name: string, profile: HardwareProfile = TEST_CPU_PROFILE) {
  const a = await startAgent(tc.url, await volunteerToken(tc, name), { name, profile, leaseWaitMs: 300 });
  cleanups.push(() => a.stop());
  return a;
}

async function liar(tc: TestCoordinator, o: Pick<LiarOptions, 'shift' | 'lieOn'>): Promise<LiarWorker> {
  const l = createLiarWorker({
    url: tc.url,
    token: await volunteerToken(tc, 'liar'),
    name: 'liar',
    profile: TEST_CPU_PROFILE,
    landscape: knownLandscape,
    sigma: KNOWN_SIGMA,
    seed: 77,
    ...o,
  });
  cleanups.push(() => l.stop());
  return l;
}

async function submit(tc: TestCoordinator, patches: KnownPatch[]): Promise<Map<string, KnownPatch>> {
  const out = new Map<string, KnownPatch>();
  for (const k of patches) {
    const r = await tc.admin.proposals.submit.mutate({
      track: TRACK,
      patch: k.patch,
      description: k.description,
    });
    out.set(r.proposal.id, k);
  }
  return out;
}

async function allFinal(tc: TestCoordinator, ids: string[], timeoutMs = 200_000): Promise<Proposal[]> {
  let last: Proposal[] = [];
  return waitFor(
    async () => {
      const ps = await Promise.all(ids.map((id) => tc.admin.proposals.get.query({ id })));
      last = ps;
      return ps.every((p) => FINAL_PROPOSAL_STATUSES.includes(p.status)) ? ps : null;
    },
    timeoutMs,
    'every proposal decided',
  ).catch((e: unknown) => {
    // Say which proposals were still open, and why: a timeout alone says nothing.
    const open = last.filter((p) => !FINAL_PROPOSAL_STATUSES.includes(p.status));
    throw new Error(
      `${String(e)}; still open: ${open.map((p) => `${p.description} [${p.status}] ${p.verdictReason ?? ''}`).join(' | ')}`,
    );
  });
}

interface Figures {
  falseAccepts: number;
  lostGains: number;
  arbitrations: number;
  candidateRuns: number;
  baselineRuns: number;
  unverifiedBaselines: number;
  sigma: Record<string, number>;
  /** What became of each lost gain and false accept: status and reason. */
  wrong: string[];
}

/** What happened: false accepts, lost gains, the runs it cost and σ per class. */
async function figures(
  tc: TestCoordinator,
  known: Map<string, KnownPatch>,
  classes: string[],
): Promise<Figures> {
  const ps = await allFinal(tc, [...known.keys()]);
  const exps = await tc.admin.experiments.list.query({ track: TRACK });
  const sigma: Record<string, number> = {};
  for (const cls of classes)
    sigma[cls] = Number(pooledNoise(await tc.c.deps.store.baselineGroups(TRACK, cls)).sigma.toFixed(6));
  return {
    falseAccepts: ps.filter((p) => p.status === 'merged' && known.get(p.id)!.gain === 0).length,
    lostGains: ps.filter((p) => p.status !== 'merged' && known.get(p.id)!.gain > 0).length,
    arbitrations: exps.filter((e) => e.stage === 'arbitrate' && e.status === 'ok').length,
    candidateRuns: exps.filter((e) => e.kind === 'candidate' && e.status === 'ok').length,
    baselineRuns: exps.filter((e) => e.kind === 'baseline' && e.status === 'ok').length,
    unverifiedBaselines: exps.filter((e) => e.kind === 'baseline' && e.verdict === 'pending').length,
    sigma,
    wrong: ps
      .filter((p) => (p.status === 'merged') !== known.get(p.id)!.gain > 0)
      .map(
        (p) =>
          `${known.get(p.id)!.description}: ${p.status} on ${p.base.slice(0, 7)} (rebased ${p.rebases}×): ${p.verdictReason ?? ''}; ` +
          `runs ${JSON.stringify(p.decision?.candidateSamples ?? [])} vs baselines ${JSON.stringify(p.decision?.baselineSamples ?? [])}`,
      ),
  };
}

function report(name: string, f: Figures) {
  console.info(`[lying-workers] ${name}: ${JSON.stringify(f)}`);
}

describe('only real gains merge, even when a worker lies', () => {
  it(
    'honest volunteers only (the control): every real gain merges, no null patch does',
    async () => {
      t = await coordinator();
      for (const name of ['vol-a', 'vol-b', 'vol-c']) await honest(t, name);
      const known = await submit(t, [...REAL_GAINS, ...NULL_PATCHES]);
      const f = await figures(t, known, [CLASS_X]);
      report('honest only', f);
      expect(f.falseAccepts).toBe(0);
      expect(f.lostGains).toBe(0);
      expect(f.sigma[CLASS_X]).toBeLessThan(3 * KNOWN_SIGMA);
    },
    SCENARIO_MS,
  );

  it.each([
    ['0.02 better', -0.02],
    ['a wild outlier', 500],
  ])(
    'a liar that lies on every baseline (%s): real gains merge, σ stays near honest',
    async (name, shift) => {
      t = await coordinator();
      const l = await liar(t, { shift, lieOn: { baseline: true } });
      l.start();
      await honest(t, 'vol-a');
      await honest(t, 'vol-b');
      const known = await submit(t, [...REAL_GAINS, ...NULL_PATCHES]);
      const f = await figures(t, known, [CLASS_X]);
      report(`baseline liar, ${name}`, f);
      expect(l.lies().baseline).toBeGreaterThan(0);
      expect(f.falseAccepts).toBe(0);
      expect(f.lostGains).toBe(0);
      // Honest σ is 0.0006; one forged baseline counted raised it to about 0.009.
      expect(f.sigma[CLASS_X]).toBeLessThan(3 * KNOWN_SIGMA);
    },
    SCENARIO_MS,
  );

  it(
    'a liar that lies only on confirmations: the honest screen’s gain survives, the liar loses trust',
    async () => {
      t = await coordinator();
      const store = t.c.deps.store;
      // A third volunteer is registered but idle: screens cannot be confirmed by their own
      // screener while another worker is live, and no arbiter runs until it starts.
      const tokenC = await volunteerToken(t, 'vol-c');
      const { createClient } = await import('@ratchet/worker');
      await createClient(t.url, tokenC).workers.register.mutate({
        name: 'vol-c-idle',
        profile: TEST_CPU_PROFILE,
      });
      await honest(t, 'vol-a');
      const known = await submit(t, [...REAL_GAINS, ...NULL_PATCHES]);
      // Every screen runs on the honest volunteer before the liar joins.
      await waitFor(
        async () => {
          const exps = await t!.admin.experiments.list.query({ track: TRACK });
          return exps.filter((e) => e.stage === 'screen' && e.status === 'ok').length >= known.size;
        },
        120_000,
        'every screen',
      );
      const l = await liar(t, { shift: +0.02, lieOn: { confirm: true } });
      l.start();
      // The liar's confirmations contradict the honest screens of the real gains: they wait,
      // in words, for a third principal.
      const waiting = await waitFor(
        async () => {
          const ps = await Promise.all([...known.keys()].map((id) => t!.admin.proposals.get.query({ id })));
          const w = ps.filter(
            (p) =>
              known.get(p.id)!.gain > 0 &&
              p.status === 'confirming' &&
              p.verdictReason?.includes('third principal'),
          );
          return w.length === REAL_GAINS.length ? w : null;
        },
        120_000,
        'the disputed gains to wait for an arbiter',
      );
      expect(waiting.map((p) => p.verdictReason)).toEqual(
        waiting.map(() => expect.stringContaining('disagree beyond the noise')),
      );
      await honest(t, 'vol-c');
      const f = await figures(t, known, [CLASS_X]);
      report('confirmation liar', f);
      expect(l.lies().confirm).toBeGreaterThanOrEqual(REAL_GAINS.length);
      expect(f.falseAccepts).toBe(0);
      expect(f.lostGains).toBe(0);
      expect(f.arbitrations).toBeGreaterThanOrEqual(REAL_GAINS.length);
      // The liar lost its trust; the honest screener kept and earned it.
      const workers = await store.listWorkers();
      const id = (name: string) => workers.find((w) => w.name === name)!.id;
      // (It may earn some back later with honest screens of re-verifications.)
      expect((await store.counters()).trust_resets ?? 0).toBeGreaterThanOrEqual(REAL_GAINS.length);
      expect(await store.trust(l.workerId!, CLASS_X)).toBeLessThan(REAL_GAINS.length);
      expect(await store.trust(id('vol-a'), CLASS_X)).toBeGreaterThanOrEqual(REAL_GAINS.length);
      const exps = await t.admin.experiments.list.query({ track: TRACK });
      const invalid = exps.filter((e) => e.verdict === 'invalid');
      expect(invalid.length).toBeGreaterThanOrEqual(REAL_GAINS.length);
      // Only the lying confirmations were found wrong: no honest screen was blamed.
      expect(invalid.filter((e) => e.stage !== 'confirm').map((e) => [e.stage, e.verdictReason])).toEqual([]);
    },
    SCENARIO_MS,
  );

  it('a liar on a class beside honest workers, and an honest-only class beside it', {
    timeout: SCENARIO_MS,
  }, async () => {
    t = await coordinator();
    const l = await liar(t, { shift: -0.02 });
    l.start();
    await honest(t, 'x-1');
    await honest(t, 'x-2');
    await honest(t, 'y-1', OTHER_PROFILE);
    await honest(t, 'y-2', OTHER_PROFILE);
    const known = await submit(t, [...REAL_GAINS, ...NULL_PATCHES]);
    const f = await figures(t, known, [CLASS_X, hardwareClassOf(OTHER_PROFILE)]);
    report('liar beside honest workers', f);
    expect(l.jobs.length).toBeGreaterThan(0);
    expect(f.falseAccepts).toBe(0);
    expect(f.lostGains).toBe(0);
    expect(f.sigma[CLASS_X]).toBeLessThan(3 * KNOWN_SIGMA);
  });
});
