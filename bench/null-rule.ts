/**
 * How often the acceptance rule merges a null patch, simulated on the rule alone (the pure
 * transition function of `pipeline/lifecycle.ts`, default config), in the research bench's
 * setting: σ known to the simulation, baselines of one head (5 runs while the noise estimate
 * is young, so ν = 4), a screen, then confirmations up to the rule's maximum.
 *   node --import tsx bench/null-rule.ts
 * It prints the rate with fresh baselines for every patch (what α bounds), and the spread of
 * the number merged out of BATCH patches that all share one head's baselines, as in the
 * bench's null-patch run, where one unlucky draw of the baselines raises every patch's odds.
 */
import { type CandidateState, nextStep, type RunView } from '../coordinator/src/pipeline/lifecycle.ts';
import { DEFAULT_ACCEPTANCE, pooledNoise } from '../coordinator/src/pipeline/stats.ts';

const SIGMA = 0.003;
const BASELINES = Number(process.env.BASELINES ?? 5);
const BATCH = Number(process.env.BATCH ?? 1200);
const HEADS = Number(process.env.HEADS ?? 400);
const cfg = { acceptance: DEFAULT_ACCEPTANCE, seed: 1, maxThrottleRequeues: 3 };

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
    noise: pooledNoise([values]),
  };
}

/** One null patch through the rule: true when it would merge. */
function merges(h: ReturnType<typeof head>): boolean {
  const runs: RunView[] = [];
  let status: CandidateState['proposal']['status'] = 'running';
  for (;;) {
    runs.push({
      id: `r${runs.length}`,
      stage: runs.length === 0 ? 'screen' : 'confirm',
      valBpb: 1 + SIGMA * gauss(),
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
    if (actions.some((a) => a.type === 'merge')) return true;
    if (!actions.some((a) => a.type === 'queueRun')) return false;
    status = 'confirming';
  }
}

let fresh = 0;
const N = HEADS * BATCH;
for (let i = 0; i < N; i++) if (merges(head())) fresh++;
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
  `null patches merged with fresh baselines each: ${fresh} of ${N} (${((100 * fresh) / N).toFixed(3)}%; α = ${DEFAULT_ACCEPTANCE.alpha} per test)`,
);
console.log(
  `out of ${BATCH} sharing one head's ${BASELINES} baselines (${HEADS} heads): mean ${mean.toFixed(2)}, median ${at(0.5)}, ` +
    `90th percentile ${at(0.9)}, 99th ${at(0.99)}; heads with none ${perHead.filter((k) => k === 0).length}, with 2 or more ${perHead.filter((k) => k >= 2).length}`,
);
