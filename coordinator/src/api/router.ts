/**
 * The tRPC API, one sub-router per domain (`routes/`). The worker imports only
 * `type AppRouter`.
 */

import { proposalsRouter } from './routes/proposals.ts';
import {
  experimentsRouter,
  leaderboardProcedure,
  portabilityRouter,
  resultsProcedure,
} from './routes/reports.ts';
import { auditProcedure, tokensRouter } from './routes/tokens.ts';
import { tracksRouter } from './routes/tracks.ts';
import { workersRouter } from './routes/workers.ts';
import { authedProcedure, router } from './trpc.ts';

export const appRouter = router({
  health: authedProcedure.query(({ ctx }) => ({ ok: true, role: ctx.principal.role })),
  tokens: tokensRouter,
  audit: auditProcedure,
  tracks: tracksRouter,
  workers: workersRouter,
  proposals: proposalsRouter,
  experiments: experimentsRouter,
  leaderboard: leaderboardProcedure,
  results: resultsProcedure,
  portability: portabilityRouter,
});

export type AppRouter = typeof appRouter;
