/**
 * The strategy leaderboard: which research strategy (program.md) and proposer yields the most
 * improvement per GPU-hour. "GPU-hours" are device-hours of training processes, whatever
 * the device.
 */
import type { Experiment, Proposal } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { answerCounts, answerRowKey } from '../proposers/answers.ts';

export interface LeaderboardRow {
  track: string;
  strategy: string;
  proposer: string;
  proposals: number;
  evaluated: number;
  confirmed: number;
  merged: number;
  gainByClass: Record<string, number>;
  gpuHours: number;
  gainPerGpuHour: number;
  answers: number;
  invalidAnswers: number;
  invalidRate: number;
}

export async function leaderboard(deps: Deps): Promise<LeaderboardRow[]> {
  const counters = await deps.store.counters();
  const tracks: LeaderboardInput['tracks'] = [];
  const experiments = new Map<string, Experiment>();
  for (const t of await deps.store.listTracks()) {
    for (const e of await deps.store.listExperiments(t.config.id)) experiments.set(e.id, e);
    tracks.push({ id: t.config.id, proposals: await deps.store.listProposals(t.config.id, 100_000) });
  }
  return buildLeaderboard({ tracks, experiments, counters });
}

export interface LeaderboardInput {
  tracks: { id: string; proposals: readonly Proposal[] }[];
  experiments: ReadonlyMap<string, Pick<Experiment, 'status' | 'timings'>>;
  counters: Record<string, number>;
}

/** The leaderboard from records already read (the dashboard keeps them in memory). */
export function buildLeaderboard({
  tracks,
  experiments: exps,
  counters,
}: LeaderboardInput): LeaderboardRow[] {
  const answers = answerCounts(counters);
  const rows = new Map<string, LeaderboardRow>();
  const rowOf = (track: string, strategy: string, proposer: string): LeaderboardRow => {
    const key = answerRowKey(track, strategy, proposer);
    let r = rows.get(key);
    if (!r) {
      const a = answers.get(key);
      r = {
        track,
        strategy,
        proposer,
        proposals: 0,
        evaluated: 0,
        confirmed: 0,
        merged: 0,
        gainByClass: {},
        gpuHours: 0,
        gainPerGpuHour: 0,
        answers: a?.answers ?? 0,
        invalidAnswers: a?.invalid ?? 0,
        invalidRate: a && a.answers > 0 ? a.invalid / a.answers : 0,
      };
      rows.set(key, r);
    }
    return r;
  };
  // Every proposer that answered has a row, even one whose every answer was invalid.
  const known = new Set(tracks.map((t) => t.id));
  for (const a of answers.values()) if (known.has(a.track)) rowOf(a.track, a.strategy, a.proposer);
  for (const t of tracks) {
    for (const p of t.proposals) {
      const r = rowOf(t.id, p.strategy, p.proposer);
      r.proposals++;
      const mine = p.experimentIds.map((id) => exps.get(id)).filter((e) => e !== undefined);
      if (mine.some((e) => e.status === 'ok')) r.evaluated++;
      if (p.decision?.verdict === 'accept') r.confirmed++;
      if (p.status === 'merged') {
        r.merged++;
        const cls = p.decision?.hardwareClass ?? 'unknown';
        r.gainByClass[cls] = (r.gainByClass[cls] ?? 0) + -(p.decision?.delta ?? 0);
      }
      for (const e of mine) {
        const s = e.timings?.trainStartAt;
        const x = e.timings?.trainExitAt;
        if (s && x && x > s) r.gpuHours += (x - s) / 3_600_000;
      }
    }
  }
  for (const r of rows.values()) {
    const gain = Object.values(r.gainByClass).reduce((a, b) => a + b, 0);
    r.gainPerGpuHour = r.gpuHours > 0 ? gain / r.gpuHours : 0;
  }
  return [...rows.values()].sort((a, b) => b.gainPerGpuHour - a.gainPerGpuHour || b.merged - a.merged);
}
