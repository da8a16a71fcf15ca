/**
 * The mutation proposer's core, independent of where it runs, through the same port as the
 * LLM proposer (`port.ts`): it reads the frontier and the shared history, proposes mutations
 * of the editable file's constants (`mutation.ts`), compile-checks them when an interpreter
 * is given, submits them, and counts each as an answer (invalid when it does not compile or
 * duplicates a proposal).
 */
import { ErrorCodes } from '@ratchet/shared';
import { compileCheck } from './compile.ts';
import { unifiedDiff } from './constants.ts';
import type { HistoryItem } from './lessons.ts';
import { mutatedNames, proposeMutation } from './mutation.ts';
import type { ProposerPort } from './port.ts';

export interface MutationCoreOptions {
  track: string;
  /** Interpreter for compile checks; null skips them. */
  python: string | null;
  /** Its strategy on the leaderboard (default `mutation-search`). */
  strategy?: string;
  random?: () => number;
  log?: (msg: string) => void;
}

/** Ended proposals the search learns from (its history window). */
const HISTORY_LIMIT = 1000;

export function createMutationCore(port: ProposerPort, o: MutationCoreOptions) {
  const proposer = 'mutation';
  const strategy = o.strategy ?? 'mutation-search';
  const random = o.random ?? Math.random;
  const log = o.log ?? (() => {});
  /** The head on which the search last said it had run out, so that it says so once. */
  let dryOn: string | null = null;

  /**
   * Propose until `target` proposals are open; returns how many it made. Open proposals of
   * every base count: a queued one is rebased onto the head when it is leased, so it is work on
   * the current frontier all the same, and its change counts as tried and busy. Counting only
   * those on the head refilled the whole depth after every merge, and with many workers
   * merging every few runs the queue grew rounds deep, its proposals made blind to what the
   * rounds in between found.
   */
  async function fill(target: number): Promise<number> {
    const { head, editable, files } = await port.frontier(o.track);
    const h = await port.history(o.track, HISTORY_LIMIT);
    const history: HistoryItem[] = [
      ...h.items.map((x) => ({ description: x.description, status: x.status, delta: x.delta, base: x.base })),
      ...h.inFlight.map((x) => ({ description: x.description, status: x.status, delta: null, base: x.base })),
    ];
    const tried = new Set([
      ...h.items.filter((x) => x.base === head).map((x) => x.description),
      ...h.inFlight.map((x) => x.description),
    ]);
    const busy = new Set(h.inFlight.flatMap((x) => mutatedNames(x.description)));
    const file = editable[0]!;
    const source = files[file]!;
    let open = h.inFlight.length;
    let made = 0;
    while (open < target) {
      const m = proposeMutation({ source, history, random, tried, busy, base: head });
      if (!m) {
        // Nothing left that it has not tried on this head (or seen fail anywhere): say so once,
        // instead of a silence that looks like a hang. It resumes when the frontier moves.
        if (open === 0 && dryOn !== head) {
          dryOn = head;
          log(
            `the search has tried every edit it knows on ${head.slice(0, 7)}; nothing more is queued until the frontier moves or a proposal is submitted`,
          );
        }
        break;
      }
      tried.add(m.description);
      for (const mv of m.moves) busy.add(mv.name);
      const answer = { track: o.track, strategy, proposer };
      if (o.python) {
        const err = await compileCheck(o.python, m.source);
        if (err) {
          log(`mutation ${m.description} does not compile: ${err}`);
          await port.countAnswer({ ...answer, invalidCode: ErrorCodes.EDIT_DOES_NOT_COMPILE });
          continue;
        }
      }
      const r = await port.submit({
        track: o.track,
        base: head,
        patch: unifiedDiff(file, source, m.source),
        description: m.description,
        proposer,
        strategy,
      });
      await port.countAnswer({ ...answer, invalidCode: r.created ? null : ErrorCodes.PATCH_DUPLICATE });
      if (r.created) {
        open++;
        made++;
      }
    }
    return made;
  }

  return { fill };
}
