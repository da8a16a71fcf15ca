import type { Frontier } from './frontier/repo.ts';
import type { TrackData } from './frontier/track-data.ts';
import type { MergeTrain } from './merge/merge-train.ts';
import type { AcceptanceConfig } from './pipeline/stats.ts';
import type { Queues } from './queue/queues.ts';
import type { Store } from './store/store.ts';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export interface ServiceConfig {
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  acceptance: AcceptanceConfig;
  patchMaxBytes: number;
  seed: number;
  /** Rebase a queued screen onto the head when it is leased (lease/freshen.ts). */
  rebaseOnLease: boolean;
}

export interface Events {
  experimentFinished?(e: { experimentId: string }): void;
  /**
   * A named step of a multi-step protocol has just completed (`complete:accepted`,
   * `complete:job-finished`, `record:written`): fault tests stop the coordinator there, as a
   * crash would.
   */
  step?(name: string): void;
}

export interface Deps {
  store: Store;
  frontier: Frontier;
  trackData: TrackData;
  queues: Queues;
  clock: Clock;
  config: ServiceConfig;
  events: Events;
  /** Serial merges per track (`merge/merge-train.ts`), built from the store and frontier. */
  merge: MergeTrain;
}
