/**
 * The built-in mutation proposer as a coordinator component: keeps a track's queue at its
 * target depth with mutations of the frontier's editable file, compile-checked with Python
 * when an interpreter is available.
 */

import {
  compileCheck,
  type HistoryItem,
  mutatedNames,
  proposeMutation,
  unifiedDiff,
} from '@ratchet/proposers';
import { FINAL_PROPOSAL_STATUSES, OPEN_PROPOSAL_STATUSES, type Proposal } from '@ratchet/shared';
import type { Deps } from '../service/deps.ts';
import { submitProposal } from '../service/proposals.ts';
import { periodic } from './periodic.ts';

export interface MutationProposerOptions {
  track: string;
  /** Open proposals (queued or on their way, any base) to keep per active worker (default 2). */
  perWorker?: number;
  /** Interpreter for compile checks; null skips them. */
  python: string | null;
  intervalMs?: number;
  random?: () => number;
  log?: (msg: string) => void;
}

const OPEN = new Set<string>(OPEN_PROPOSAL_STATUSES);
const FINAL = new Set<string>(FINAL_PROPOSAL_STATUSES);
/** The history a round looks at: the track's latest proposals. */
const HISTORY = 1000;

export function createMutationProposer(deps: Deps, opts: MutationProposerOptions) {
  const random = opts.random ?? Math.random;
  const log = opts.log ?? (() => {});
  let submitted = 0;
  /**
   * Proposals that have ended, with what they taught, never change: each round reads only
   * the new and the open ones (in batches), so a round costs the work in flight, not the
   * whole history — rounds are frequent, and they share the coordinator with every lease.
   */
  const ended = new Map<string, { p: Proposal; item: HistoryItem }>();

  async function activeWorkers(): Promise<number> {
    const now = deps.clock.now();
    const live = (await deps.store.listWorkers()).filter(
      (w) => now - w.lastSeenAt < deps.config.leaseTtlMs * 3,
    );
    return Math.max(1, live.length);
  }

  async function history(): Promise<{
    items: HistoryItem[];
    open: number;
    triedOn: (base: string) => Set<string>;
    busy: Set<string>;
  }> {
    const current = new Map<string, { p: Proposal; item: HistoryItem }>();
    const ids = (await deps.store.proposalIds(opts.track)).slice(-HISTORY).reverse();
    const fresh = await deps.store.getProposals(ids.filter((id) => !ended.has(id)));
    const lastIds = fresh.flatMap((p) => p.experimentIds.slice(-1));
    const delta = new Map((await deps.store.getExperiments(lastIds)).map((e) => [e.id, e.delta]));
    for (const p of fresh) {
      const last = p.experimentIds[p.experimentIds.length - 1];
      const item = {
        description: p.description,
        status: p.status,
        delta: delta.get(last ?? '') ?? null,
        base: p.base,
      };
      if (FINAL.has(p.status)) ended.set(p.id, { p, item });
      else current.set(p.id, { p, item });
    }
    const proposals: Proposal[] = [];
    const items: HistoryItem[] = [];
    for (const id of ids) {
      const x = ended.get(id) ?? current.get(id);
      if (!x) continue;
      proposals.push(x.p);
      items.push(x.item);
    }
    if (ended.size > 2 * HISTORY)
      for (const id of [...ended.keys()].slice(0, ended.size - HISTORY)) ended.delete(id);
    // Open proposals of every base count: a queued one is rebased onto the head when it is
    // leased (`service/freshen.ts`), so it is work on the current frontier all the same.
    const open = proposals.filter((p) => OPEN.has(p.status));
    return {
      items,
      open: open.length,
      triedOn: (base) =>
        new Set([
          ...proposals.filter((p) => p.base === base).map((p) => p.description),
          ...open.map((p) => p.description),
        ]),
      busy: new Set(open.flatMap((p) => mutatedNames(p.description))),
    };
  }

  async function tick(): Promise<number> {
    const track = await deps.store.requireTrack(opts.track);
    const target = (opts.perWorker ?? 2) * (await activeWorkers());
    const h = await history();
    let made = 0;
    const head = (await deps.frontier.head(opts.track)) ?? track.head;
    // Every open proposal counts towards the depth, whatever its base: the queue stays about
    // a round of runs deep, so each proposal is made with the lessons of all but the last
    // round. Counting only those on the head refilled the whole depth after every merge,
    // and with many workers merging every few runs the queue grew rounds deep, its
    // proposals made blind to what the rounds in between found.
    let open = h.open;
    const file = track.config.editable[0]!;
    const source = await deps.frontier.readFile(head, file);
    const tried = h.triedOn(head);
    const busy = h.busy;
    while (open < target) {
      const m = proposeMutation({ source, history: h.items, random, tried, busy, base: head });
      if (!m) break;
      tried.add(m.description);
      for (const mv of m.moves) busy.add(mv.name);
      if (opts.python) {
        const err = await compileCheck(opts.python, m.source);
        if (err) {
          log(`mutation ${m.description} does not compile: ${err}`);
          continue;
        }
      }
      const r = await submitProposal(deps, {
        track: opts.track,
        base: head,
        patch: unifiedDiff(file, source, m.source),
        description: m.description,
        proposer: 'mutation',
        strategy: 'mutation-search',
      });
      if (r.created) {
        open++;
        made++;
        submitted++;
      }
    }
    return made;
  }

  return {
    /** One round: fill the queue to its target depth. Returns proposals made. */
    tick,
    get submitted() {
      return submitted;
    },
    ...periodic(tick, opts.intervalMs ?? 2_000, (m) => log(`mutation proposer: ${m}`)),
  };
}
