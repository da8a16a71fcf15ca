/**
 * Metrics follow the records as they are written: `observeStore(store, observer)` returns the
 * same store whose writes of experiments, proposals, tracks and workers also move the
 * aggregates (store/stats.ts) and the in-process counters (instruments.ts). A failure here
 * never fails the write; it is counted in `ratchet_metrics_errors_total`.
 */
import type { Experiment, Proposal, TrackInfo } from '@ratchet/shared';
import type { StatsStore } from '../store/stats.ts';
import { SEP } from '../store/stats.ts';
import type { Store, WorkerRecord } from '../store/store.ts';
import { boundedLabel, type Instruments } from './instruments.ts';

const FINAL = new Set(['ok', 'crash', 'patch_failed']);
const isFinal = (s: string | undefined) => s !== undefined && FINAL.has(s);
/** Distinct worker names labelled before the rest count as `other`. */
const MAX_WORKER_LABELS = 200;
/** A worker unseen this long is forgotten by the worker gauges (ms). */
export const FORGET_WORKER_MS = 7 * 24 * 3600_000;

export type Observer = ReturnType<typeof createObserver>;

export function experimentState(e: Experiment): string {
  return [e.track, e.status, e.verdict ?? 'none', e.hardwareClass ?? 'none'].join(SEP);
}
export function proposalState(p: Proposal): string {
  return [p.track, p.status].join(SEP);
}
export function strategyField(p: Proposal, what: string): string {
  return [p.track, p.strategy, p.proposer, what].join(SEP);
}

export function createObserver(o: {
  stats: StatsStore;
  /** The undecorated store, for lookups. */
  store: Store;
  instruments: Instruments;
  now: () => number;
}) {
  const { stats, store, instruments: m } = o;
  const workerLabel = boundedLabel(MAX_WORKER_LABELS);
  const workers = new Map<string, { name: string; cls: string }>();

  async function workerOf(id: string) {
    let w = workers.get(id);
    if (!w) {
      const rec = await store.getWorker(id);
      if (!rec) return null;
      w = { name: rec.name, cls: rec.hardwareClass };
      workers.set(id, w);
    }
    return w;
  }

  /** `live`: count events in the in-process counters too (false while backfilling history). */
  async function experiment(e: Experiment, live = true) {
    const t = await stats.experiment(e.id, experimentState(e));
    if (!t.changed) return;
    const [, oldStatus, oldVerdict] = t.old?.split(SEP) ?? [];
    const finishedNow = isFinal(e.status) && !isFinal(oldStatus);
    const cls = e.hardwareClass ?? 'none';
    if (live) {
      if (e.status === 'running' && oldStatus !== 'running' && e.leasedAt !== null) {
        m.queueWait.observe({ track: e.track, stage: e.stage }, Math.max(0, e.leasedAt - e.createdAt) / 1000);
      }
      if (e.verdict && e.verdict !== oldVerdict) m.verdicts.inc({ track: e.track, verdict: e.verdict });
      if (finishedNow) {
        const tm = e.timings;
        const trainMs = tm?.trainStartAt && tm.trainExitAt ? tm.trainExitAt - tm.trainStartAt : null;
        if (trainMs !== null) {
          m.runDuration.observe({ track: e.track, hardware_class: cls, status: e.status }, trainMs / 1000);
        }
        if (tm) {
          const overheadMs = tm.reportedAt - tm.leasedAt - (trainMs ?? 0);
          m.overhead.observe({ track: e.track, hardware_class: cls }, Math.max(0, overheadMs) / 1000);
        }
        const w = e.workerId ? await workerOf(e.workerId) : null;
        if (w)
          m.workerExperiments.inc({ worker: workerLabel(w.name), hardware_class: cls, status: e.status });
      }
    }
    if (finishedNow) {
      const tm = e.timings;
      if (tm?.trainStartAt && tm.trainExitAt && tm.trainExitAt > tm.trainStartAt) {
        // Device time counts for each proposal the run served (a batch serves several).
        const seconds = (tm.trainExitAt - tm.trainStartAt) / 1000;
        for (const id of e.proposalId ? [e.proposalId] : e.members) {
          const p = await store.getProposal(id);
          if (p) await stats.addStrategy(strategyField(p, 'device_seconds'), seconds);
        }
      }
    }
    if ((e.verdict === 'baseline' || e.verdict === 'keep') && e.metrics && e.hardwareClass) {
      if (e.verdict !== oldVerdict)
        await stats.lower([e.track, e.hardwareClass].join(SEP), e.metrics.val_bpb);
    }
  }

  async function proposal(p: Proposal, live = true) {
    const t = await stats.proposal(p.id, proposalState(p));
    if (!t.changed) return;
    const oldStatus = t.old?.split(SEP)[1];
    if (t.old === null) await stats.addStrategy(strategyField(p, 'proposals'), 1);
    if (live) m.transitions.inc({ track: p.track, status: p.status });
    if (p.status === 'merged' && oldStatus !== 'merged') {
      await stats.addStrategy(strategyField(p, 'merged'), 1);
      await stats.addStrategy(strategyField(p, 'gain'), -(p.decision?.delta ?? 0));
      await stats.frontierMoved(p.track, o.now());
    }
  }

  async function track(t: TrackInfo) {
    await stats.frontierMoved(t.config.id, o.now(), true);
  }

  async function worker(w: WorkerRecord) {
    workers.set(w.id, { name: w.name, cls: w.hardwareClass });
    await stats.workerSeen(w.hardwareClass, w.id, w.lastSeenAt, FORGET_WORKER_MS);
  }

  async function workerSeen(id: string, atMs: number) {
    const w = await workerOf(id);
    if (w) await stats.workerSeen(w.cls, id, atMs, FORGET_WORKER_MS);
  }

  /** Bring the aggregates up to date with records written before they existed (once). */
  async function backfill() {
    if (await stats.isBackfilled()) return;
    for (const w of await store.listWorkers()) await worker(w);
    for (const t of await store.listTracks()) {
      await track(t);
      for (const p of await store.listProposals(t.config.id, Number.MAX_SAFE_INTEGER))
        await proposal(p, false);
      for (const e of await store.listExperiments(t.config.id)) await experiment(e, false);
    }
    await stats.markBackfilled(o.now());
  }

  return { experiment, proposal, track, worker, workerSeen, backfill };
}

/** The store, with every write of a tracked record also observed. */
export function observeStore(
  store: Store,
  observer: Observer,
  instruments: Instruments,
  onError: (e: unknown) => void,
): Store {
  const safely = async (f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      onError(e);
    }
  };
  return {
    ...store,
    async putExperiment(e) {
      await store.putExperiment(e);
      await safely(() => observer.experiment(e));
    },
    async putProposal(p) {
      await store.putProposal(p);
      await safely(() => observer.proposal(p));
    },
    async putTrack(t) {
      await store.putTrack(t);
      await safely(() => observer.track(t));
    },
    async putWorker(w) {
      await store.putWorker(w);
      await safely(() => observer.worker(w));
    },
    async putLease(l) {
      await store.putLease(l);
      instruments.leases.inc({ queue: l.queue });
    },
    async grantLease(l) {
      const granted = await store.grantLease(l);
      if (granted) instruments.leases.inc({ queue: l.queue });
      return granted;
    },
    async touchWorker(id, now) {
      await store.touchWorker(id, now);
      await safely(() => observer.workerSeen(id, now));
    },
  };
}
