/** What was run and what it gave: experiments, the leaderboard, results.tsv rows, portability. */
import { Id, TrackId } from '@ratchet/shared';
import { z } from 'zod';
import { leaderboard } from '../../reports/leaderboard.ts';
import { portabilityMatrix } from '../../reports/portability.ts';
import { resultRows } from '../../reports/report.ts';
import { authedProcedure, router } from '../trpc.ts';

export const experimentsRouter = router({
  get: authedProcedure.input(z.object({ id: Id })).query(async ({ ctx, input }) => {
    const e = await ctx.deps.store.requireExperiment(input.id);
    return { ...e, progress: await ctx.deps.store.getProgress(e.id) };
  }),
  list: authedProcedure.input(z.object({ track: TrackId })).query(async ({ ctx, input }) => {
    await ctx.deps.store.requireTrack(input.track);
    return ctx.deps.store.listExperiments(input.track);
  }),
});

export const leaderboardProcedure = authedProcedure.query(({ ctx }) => leaderboard(ctx.deps));

export const resultsProcedure = authedProcedure
  .input(z.object({ track: TrackId }))
  .query(({ ctx, input }) => resultRows(ctx.deps, input.track));

/** Per merged commit, its delta on each hardware class measured so far. */
export const portabilityRouter = router({
  matrix: authedProcedure
    .input(z.object({ track: TrackId }))
    .query(({ ctx, input }) => portabilityMatrix(ctx.deps, input.track)),
});
