/**
 * Reads the dashboard's snapshot from the store, incrementally: the first read loads every
 * track's experiments and proposals; later reads fetch only the records the store's change
 * feed names. Logs and patches are not kept (the detail endpoint reads them when asked), so
 * memory stays proportional to the number of rows, not to their logs.
 */
import type {
  DashExperiment,
  DashQueue,
  DashSnapshot,
  DashTrack,
  Experiment,
  PortabilityMatrix,
  Proposal,
} from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { buildLeaderboard } from '../reports/leaderboard.ts';
import { portabilityMatrix } from '../reports/portability.ts';
import { experimentRow, workerRow } from './read-model.ts';

export interface SourceOptions {
  /** Workers silent longer than this are gone. */
  liveWindowMs: number;
  /** A worker without a job seen within this is in a lease long poll (the lease wait is 20 s). */
  pollWindowMs?: number;
  /** How many upcoming jobs per queue the page lists. */
  nextPerQueue?: number;
  /** Re-read changes this far back: writers' clocks and in-flight writes may lag a little. */
  feedOverlapMs?: number;
  portabilityEveryMs?: number;
}

export type DashboardSource = ReturnType<typeof createDashboardSource>;

const slim = (e: Experiment): Experiment => ({ ...e, logTail: '', patch: null });
const slimP = (p: Proposal): Proposal => ({ ...p, patch: '' });

export function createDashboardSource(deps: Deps, o: SourceOptions) {
  const exps = new Map<string, Experiment>();
  const props = new Map<string, Proposal>();
  const loadedTracks = new Set<string>();
  let feedSince = 0;
  const overlap = o.feedOverlapMs ?? 2_000;
  // The portability matrix reads every proposal of a track: refreshed every 10 s, not per tick.
  let portability: PortabilityMatrix[] = [];
  let portabilityAt = 0;

  async function loadTrack(id: string) {
    for (const e of await deps.store.listExperiments(id)) exps.set(e.id, slim(e));
    for (const p of await deps.store.getProposals(await deps.store.proposalIds(id)))
      props.set(p.id, slimP(p));
    loadedTracks.add(id);
  }

  async function refresh(trackIds: string[]) {
    const started = Date.now();
    if (feedSince > 0) {
      const ch = await deps.store.changedSince(feedSince - overlap);
      for (const e of await deps.store.getExperiments(ch.experiments)) exps.set(e.id, slim(e));
      for (const p of await deps.store.getProposals(ch.proposals)) props.set(p.id, slimP(p));
    }
    for (const id of trackIds) if (!loadedTracks.has(id)) await loadTrack(id);
    feedSince = started;
  }

  async function queueSection(rows: Map<string, DashExperiment>): Promise<DashQueue> {
    const depths = await deps.queues.depths();
    const next: DashQueue['next'] = [];
    for (const [queue, n] of Object.entries(depths)) {
      if (n === 0) continue;
      for (const id of await deps.queues.peek(queue, o.nextPerQueue ?? 3)) {
        const r = rows.get(id);
        next.push({ queue, experimentId: id, label: r ? `${r.stage} ${r.description}` : id });
      }
    }
    const batches = [...rows.values()]
      .filter((r) => r.batch && (r.status === 'queued' || r.status === 'running'))
      .map((r) => ({
        experimentId: r.id,
        track: r.track,
        hardwareClass: r.hardwareClass,
        status: r.status,
        members: r.members,
      }));
    return { depths, next, batches };
  }

  // One read at a time (the hub and /snapshot share the caches): an older read finishing
  // after a newer one must not put older records back.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    snapshot(): Promise<DashSnapshot> {
      const next = queue.then(build);
      queue = next.catch(() => {});
      return next;
    },
  };

  async function build(): Promise<DashSnapshot> {
    const now = deps.clock.now();
    const trackInfos = await deps.store.listTracks();
    await refresh(trackInfos.map((t) => t.config.id));
    const workers = await deps.store.listWorkers();
    const names = new Map(workers.map((w) => [w.id, w.name]));
    const proposalOf = (id: string) => props.get(id);
    const rowList = [...exps.values()]
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .map((e) =>
        experimentRow(
          e,
          e.proposalId ? (props.get(e.proposalId) ?? null) : null,
          e.workerId ? (names.get(e.workerId) ?? null) : null,
          proposalOf,
        ),
      );
    const rows = new Map(rowList.map((r) => [r.id, r]));

    const jobs = new Map<string, DashExperiment>();
    const done = new Map<string, number>();
    for (const r of rowList) {
      if (!r.workerId) continue;
      if (r.status === 'running') jobs.set(r.workerId, r);
      if (r.recordedAt !== null) done.set(r.workerId, (done.get(r.workerId) ?? 0) + 1);
    }
    const progress = await deps.store.getProgressMany(workers.map((w) => jobs.get(w.id)?.id ?? ''));
    const trust = await deps.store.trustMany(workers.map((w) => ({ workerId: w.id, cls: w.hardwareClass })));
    const stateOpts = { now, liveWindowMs: o.liveWindowMs, pollWindowMs: o.pollWindowMs ?? 25_000 };
    const workerRows = workers
      .map((w, i) =>
        workerRow(
          w,
          jobs.get(w.id) ?? null,
          progress[i] ?? null,
          done.get(w.id) ?? 0,
          trust[i] ?? 0,
          deps.config.acceptance.trustThreshold,
          stateOpts,
        ),
      )
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));

    const tracks: DashTrack[] = [];
    for (const t of trackInfos) {
      tracks.push({
        id: t.config.id,
        description: t.config.description ?? '',
        head: (await deps.frontier.head(t.config.id)) ?? t.head,
        budgetS: t.config.budgetS,
      });
    }
    const byTrack = new Map<string, Proposal[]>();
    for (const p of props.values()) {
      const list = byTrack.get(p.track);
      if (list) list.push(p);
      else byTrack.set(p.track, [p]);
    }
    const leaderboard = buildLeaderboard({
      tracks: tracks.map((t) => ({ id: t.id, proposals: byTrack.get(t.id) ?? [] })),
      experiments: exps,
      counters: await deps.store.counters(),
    }).map(({ answers: _a, invalidAnswers: _i, ...r }) => r);

    if (now - portabilityAt >= (o.portabilityEveryMs ?? 10_000)) {
      portabilityAt = now;
      const next: PortabilityMatrix[] = [];
      for (const t of tracks) {
        const m = await portabilityMatrix(deps, t.id);
        if (m.rows.length > 0) next.push(m);
      }
      portability = next;
    }

    return {
      at: now,
      tracks,
      workers: workerRows,
      queue: await queueSection(rows),
      leaderboard,
      portability,
      experiments: rowList,
    };
  }
}
