/** Proposals: submit (proposers), the research history, answer counts, read and list. */
import { Id, SubmitProposalInput, TrackId } from '@ratchet/shared';
import { z } from 'zod';
import { actorOf, assertUnderLimit, audit, countUse } from '../../auth/registry.ts';
import { getProposal, submitProposal } from '../../proposals/proposals.ts';
import { coordinatorPort, trackHistory } from '../../proposers/port.ts';
import { authedProcedure, roleProcedure, router } from '../trpc.ts';

const proposer = roleProcedure('proposer');

export const proposalsRouter = router({
  submit: proposer.input(SubmitProposalInput).mutation(async ({ ctx, input }) => {
    await assertUnderLimit(ctx.deps, ctx.principal, 'propose');
    const r = await submitProposal(ctx.deps, input);
    if (r.created) {
      await countUse(ctx.deps, ctx.principal, 'propose');
      const detail = `${input.track} ${input.description}`.slice(0, 200);
      await audit(ctx.deps, {
        actor: actorOf(ctx.principal),
        action: 'propose',
        subject: r.proposal.id,
        detail,
      });
    }
    return r;
  }),
  /** The shared research history as proposers see it (kept, discarded, crashed, in flight). */
  history: authedProcedure
    .input(z.object({ track: TrackId, limit: z.number().int().min(1).max(1000).optional() }))
    .query(async ({ ctx, input }) => {
      await ctx.deps.store.requireTrack(input.track);
      return trackHistory(ctx.deps, input.track, input.limit);
    }),
  /** Proposers report each LLM answer, valid or not, for the leaderboard's invalid-answer rate. */
  reportAnswer: proposer
    .input(
      z.object({
        track: TrackId,
        strategy: z.string().min(1).max(100),
        proposer: z.string().min(1).max(100),
        invalidCode: z.string().max(100).nullable(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      await ctx.deps.store.requireTrack(input.track);
      await coordinatorPort(ctx.deps).countAnswer(input);
      return { ok: true };
    }),
  get: authedProcedure.input(z.object({ id: Id })).query(({ ctx, input }) => getProposal(ctx.deps, input.id)),
  list: authedProcedure
    .input(z.object({ track: TrackId, limit: z.number().int().min(1).max(1000).default(100) }))
    .query(async ({ ctx, input }) => {
      await ctx.deps.store.requireTrack(input.track);
      return ctx.deps.store.listProposals(input.track, input.limit);
    }),
});
