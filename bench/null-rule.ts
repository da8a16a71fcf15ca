/**
 * How often the acceptance rule merges a null patch, simulated on the rule alone (the pure
 * transition function of `pipeline/lifecycle.ts`, default config), in the research bench's
 * setting: σ known to the simulation, baselines of one head (5 runs while the noise estimate
 * is young, so ν = 4), a screen, then confirmations up to the rule's maximum.
 *   node --import tsx bench/null-rule.ts
 *   GAIN=0.009 …        real gains of 0.009 instead (the rule's power and its runs per patch)
 *   BASELINES=2 POOLED_DF=40   a mature class: 2 baselines a head, σ known from 40 earlier heads
 *   ALPHA=… CORROBORATE_ALPHA=… SCREEN_K=… MAX_REPLICATES=…   other settings, side by side
 *     (CORROBORATE_ALPHA=1: no corroboration)
 * It prints the rate with fresh baselines for every patch (what α bounds), and the spread of
 * the number merged out of BATCH patches that all share one head's baselines, as in the
 * bench's null-patch run, where one unlucky draw of the baselines raises every patch's odds.
 */
import { type CandidateState, nextStep, type RunView } from '../coordinator/src/pipeline/lifecycle.ts';
import { DEFAULT_ACCEPTANCE, pooledNoise } from '../coordinator/src/pipeline/stats.ts';

const SIGMA = 0.003;
const BASELINES = Number(process.env.BASELINES ?? 5);
const BATCH = Number(process.env.BATCH ?? 1200);
/**
 * Degrees of freedom the class's noise estimate has from earlier heads (POOLED_DF=40): the
 * mature search, where σ is known well and a head gets few baselines of its own.
 */
const POOLED_DF = Number(process.env.POOLED_DF ?? 0);
const HEADS = Number(process.env.HEADS ?? 400);
/** A real gain instead of a null patch (GAIN=0.006): the share merged is the rule's power. */
const GAIN = Number(process.env.GAIN ?? 0);
/** The rule's α per look and the corroboration's α (1: off), to compare settings. */
const acceptance = {
  ...DEFAULT_ACCEPTANCE,
  alpha: Number(process.env.ALPHA ?? DEFAULT_ACCEPTANCE.alpha),
  corroborateAlpha: Number(process.env.CORROBORATE_ALPHA ?? DEFAULT_ACCEPTANCE.corroborateAlpha),
  screenK: Number(process.env.SCREEN_K ?? DEFAULT_ACCEPTANCE.screenK),
  maxReplicates: Number(process.env.MAX_REPLICATES ?? DEFAULT_ACCEPTANCE.maxReplicates),
};
const cfg = { acceptance, seed: 1, maxThrottleRequeues: 3 };

let s = 12345;
const rnd = () => {
  s = (s * 1664525 + 1013904223) >>> 0;
  return (s + 0.5) / 2 ** 32;
};
const gauss = () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());

function head() {
  const values = Array.from({ length: BASELINES }, () => 1 + SIGMA * gauss());
  return {
    baselines: values.map((valBpb, i) => ({
      valBpb,
      steps: 400,
      tokensM: null,
      experimentId: `b${i}`,
      peakVramMb: null,
    })),
    noise: pooledNoise([values, ...earlierHeads()]),
  };
}

/** Groups of two baselines from earlier heads, POOLED_DF degrees of freedom in all. */
function earlierHeads(): number[][] {
  return Array.from({ length: POOLED_DF }, () => [1 + SIGMA * gauss(), 1 + SIGMA * gauss()]);
}

/** Candidate runs spent on the patches so far. */
let spent = 0;

/** One null patch through the rule: true when it would merge. */
function merges(h: ReturnType<typeof head>): boolean {
  const runs: RunView[] = [];
  let status: CandidateState['proposal']['status'] = 'running';
  for (;;) {
    runs.push({
      id: `r${runs.length}`,
      stage: runs.length === 0 ? 'screen' : 'confirm',
      valBpb: 1 - GAIN + SIGMA * gauss(),
      workerId: `w${runs.length}`,
      // Every run from another lab token: the rule alone, independence granted.
      principal: { id: `t${runs.length}`, name: `lab-${runs.length}` },
      steps: 400,
      tokensM: null,
      peakVramMb: null,
    });
    const actions = nextStep(
      {
        proposal: { id: 'p', status, base: 'h', originalBase: null, decision: null, throttleRequeues: 0 },
        cls: 'c',
        finished: null,
        runs,
        baselines: h.baselines,
        noise: h.noise,
        bestGain: 0,
        screenerTrusted: true,
        baselineExhausted: false,
      },
      cfg,
    );
    const merged = actions.some((a) => a.type === 'merge');
    if (merged || !actions.some((a) => a.type === 'queueRun')) {
      spent += runs.length;
      return merged;
    }
    status = 'confirming';
  }
}

let fresh = 0;
const N = HEADS * BATCH;
for (let i = 0; i < N; i++) if (merges(head())) fresh++;
const runsEach = spent / N;
const perHead: number[] = [];
for (let i = 0; i < HEADS; i++) {
  const h = head();
  let k = 0;
  for (let j = 0; j < BATCH; j++) if (merges(h)) k++;
  perHead.push(k);
}
perHead.sort((a, b) => a - b);
const at = (q: number) => perHead[Math.min(perHead.length - 1, Math.floor(q * perHead.length))]!;
const mean = perHead.reduce((a, b) => a + b, 0) / perHead.length;
console.log(
  `${GAIN > 0 ? `real gains of ${GAIN} (${(GAIN / SIGMA).toFixed(1)}σ)` : 'null patches'} merged with fresh baselines each: ${fresh} of ${N} (${((100 * fresh) / N).toFixed(3)}%; α = ${acceptance.alpha} per look, corroboration α ${acceptance.corroborateAlpha}), ${runsEach.toFixed(2)} candidate runs each`,
);
console.log(
  `out of ${BATCH} sharing one head's ${BASELINES} baselines (${HEADS} heads): mean ${mean.toFixed(2)}, median ${at(0.5)}, ` +
    `90th percentile ${at(0.9)}, 99th ${at(0.99)}; heads with none ${perHead.filter((k) => k === 0).length}, with 2 or more ${perHead.filter((k) => k >= 2).length}`,
);
