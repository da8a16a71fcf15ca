/**
 * Liars and principals: false accepts, lost gains and runs, with scripted liars
 * (`test/support/liar-worker.ts`) on the stand-in track against a real coordinator.
 *
 *   node --import tsx bench/liars.ts
 *
 * Patches: WIDTH edits change nothing (null), QUALITY 0.99 and BONUS 0.01 are real gains of
 * 0.01, QUALITY 1.01 is harmful. Each scenario runs a first phase with the workers it names,
 * until nothing has run for 3 s, then lets a second, honest principal join (a fresh token)
 * and runs until every proposal has ended (or 60 s). Prints one JSON line per scenario.
 */
import { FINAL_PROPOSAL_STATUSES } from '@ratchet/shared';
import { setup, teardown } from '../test/support/global-redis.ts';
import { qualityPatch, startCoordinator, type TestCoordinator } from '../test/support/harness.ts';
import { createLiarWorker, type LiarOptions, type LiarWorker } from '../test/support/liar-worker.ts';
import { bonusPatch } from '../test/support/sim-worker.ts';

const widthPatch = (to: number) =>
  [
    '--- a/train.py',
    '+++ b/train.py',
    '@@ -9,3 +9,3 @@',
    ' # More constants, far enough from QUALITY for patches of each to merge cleanly.',
    '-WIDTH = 64',
    `+WIDTH = ${to}`,
    ' BONUS = 0.000000  # subtracted from val_bpb',
    '',
  ].join('\n');

interface Patch {
  kind: 'null' | 'gain' | 'harmful';
  patch: string;
  description: string;
}

const NULLS: Patch[] = [65, 66, 63, 62].map((w) => ({
  kind: 'null',
  patch: widthPatch(w),
  description: `null: WIDTH ${w}`,
}));
const GAINS: Patch[] = [
  { kind: 'gain', patch: qualityPatch('1.000000', '0.990000'), description: 'gain: QUALITY 0.99' },
  { kind: 'gain', patch: bonusPatch('0.010000'), description: 'gain: BONUS 0.01' },
];
const HARMFUL: Patch = {
  kind: 'harmful',
  patch: qualityPatch('1.000000', '1.010000'),
  description: 'harmful: QUALITY 1.01',
};

/** Lies −0.02 on candidate runs of the patches it wants merged (nulls and harmful ones). */
const pushes: Partial<LiarOptions> = {
  shift: -0.02,
  lieOn: { screen: true, confirm: true },
  lieWhen: (j) => /^\+(WIDTH|QUALITY = 1\.01)/m.test(j.lease.patch ?? ''),
};

interface Scenario {
  name: string;
  patches: Patch[];
  /** The first phase's workers: [token name, worker options] per worker. */
  first: [string, Partial<LiarOptions>][];
}

const SCENARIOS: Scenario[] = [
  {
    name: 'honest: two principals',
    patches: [...NULLS, ...GAINS],
    first: [
      ['a', {}],
      ['b', {}],
    ],
  },
  { name: 'a liar alone in its class', patches: [...NULLS, ...GAINS], first: [['liar', pushes]] },
  {
    name: 'one token posing as two workers',
    patches: [HARMFUL, ...NULLS.slice(0, 2), ...GAINS],
    first: [
      ['liar', { ...pushes, name: 'liar-1' }],
      ['liar', { ...pushes, name: 'liar-2' }],
    ],
  },
];

async function quiet(workers: LiarWorker[], ms: number, capMs: number) {
  const start = Date.now();
  let last = -1;
  let since = Date.now();
  while (Date.now() - start < capMs) {
    const n = workers.reduce((a, w) => a + w.jobs.length, 0);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= ms) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function counts(t: TestCoordinator, ids: Map<string, Patch>) {
  const out = { falseAccepts: 0, gainsMerged: 0, lostGains: 0, open: 0, statuses: [] as string[] };
  for (const [id, p] of ids) {
    const got = await t.admin.proposals.get.query({ id });
    out.statuses.push(
      `${p.description}: ${got.status}${got.status === 'merged' ? '' : ` (${got.verdictReason})`}`,
    );
    if (!FINAL_PROPOSAL_STATUSES.includes(got.status)) out.open++;
    if (got.status === 'merged' && p.kind !== 'gain') out.falseAccepts++;
    if (p.kind === 'gain' && got.status === 'merged') out.gainsMerged++;
    if (p.kind === 'gain' && FINAL_PROPOSAL_STATUSES.includes(got.status) && got.status !== 'merged')
      out.lostGains++;
  }
  return out;
}

function runsOf(workers: LiarWorker[]) {
  const jobs = workers.flatMap((w) => w.jobs);
  return {
    baseline: jobs.filter((j) => j.stage === 'baseline').length,
    screen: jobs.filter((j) => j.stage === 'screen').length,
    confirm: jobs.filter((j) => j.stage === 'confirm').length,
    lies: jobs.filter((j) => j.lied).length,
  };
}

async function run(s: Scenario) {
  const t = await startCoordinator();
  const workers: LiarWorker[] = [];
  try {
    const tokens = new Map<string, string>();
    const token = async (name: string) => {
      if (!tokens.has(name))
        tokens.set(name, (await t.admin.tokens.create.mutate({ role: 'worker', name })).token);
      return tokens.get(name)!;
    };
    const ids = new Map<string, Patch>();
    for (const p of s.patches) {
      const r = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: p.patch,
        description: p.description,
      });
      ids.set(r.proposal.id, p);
    }
    for (const [tok, o] of s.first) {
      const w = createLiarWorker({ url: t.url, token: await token(tok), name: tok, shift: 0, ...o });
      workers.push(w);
      w.start();
    }
    const t0 = Date.now();
    await quiet(workers, 3_000, 60_000);
    const alone = { ...(await counts(t, ids)), runs: runsOf(workers), seconds: (Date.now() - t0) / 1000 };
    const honest = createLiarWorker({ url: t.url, token: await token('second'), name: 'second', shift: 0 });
    workers.push(honest);
    honest.start();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await counts(t, ids)).open > 0)
      await new Promise((r) => setTimeout(r, 300));
    const after = { ...(await counts(t, ids)), runs: runsOf(workers), seconds: (Date.now() - t0) / 1000 };
    return { scenario: s.name, firstPhase: alone, afterSecondPrincipal: after };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await t.close();
  }
}

await setup();
try {
  for (const s of SCENARIOS) console.log(JSON.stringify(await run(s)));
} finally {
  await teardown();
}
