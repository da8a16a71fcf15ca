/** The tRPC API, one sub-router per domain. The worker imports only `type AppRouter`. */
import {
  AddTrackInput,
  CommitSha,
  CompleteInput,
  ErrorCodes,
  HeartbeatInput,
  Id,
  LeaseInput,
  RatchetError,
  RegisterInput,
  ReleaseInput,
  Role,
  SubmitProposalInput,
  TrackId,
} from '@ratchet/shared';
import { z } from 'zod';
import {
  actorOf,
  assertUnderLimit,
  audit,
  countUse,
  listTokens,
  readAudit,
  revokeTokens,
} from '../auth/registry.ts';
import { coordinatorPort, trackHistory } from '../proposers/port.ts';
import { leaderboard } from '../service/leaderboard.ts';
import { complete, heartbeat, lease, registerWorker, release } from '../service/leasing.ts';
import { portabilityMatrix } from '../service/portability.ts';
import { requireOwnWorker } from '../service/principals.ts';
import { getProposal, submitProposal } from '../service/proposals.ts';
import { resultRows } from '../service/report.ts';
import { readableTrackFiles } from '../service/track-program.ts';
import { addTrack } from '../service/tracks.ts';
import { linkSignals } from './linked-signal.ts';
import { authedProcedure, roleProcedure, router } from './trpc.ts';

const admin = roleProcedure('admin');
const worker = roleProcedure('worker');
const proposer = roleProcedure('proposer');

export const appRouter = router({
  health: authedProcedure.query(({ ctx }) => ({ ok: true, role: ctx.principal.role })),
  tokens: router({
    create: admin
      .input(
        z.object({
          role: Role,
          name: z.string().min(1).max(100),
          trusted: z.boolean().default(false),
          canPropose: z.boolean().default(false),
          /** Seconds until the token is refused; omitted: never. */
          expiresInS: z.number().int().positive().optional(),
          proposalsPerHour: z.number().int().positive().optional(),
          leasesPerHour: z.number().int().positive().optional(),
        }),
      )
      .mutation(async ({ ctx, input }) => {
        const now = ctx.deps.clock.now();
        const token = await ctx.auth.create(input.role, input.name, input.trusted, now, input.canPropose, {
          expiresAt: input.expiresInS ? now + input.expiresInS * 1000 : null,
          proposalsPerHour: input.proposalsPerHour ?? null,
          leasesPerHour: input.leasesPerHour ?? null,
        });
        await audit(ctx.deps, {
          actor: actorOf(ctx.principal),
          action: 'token.create',
          subject: input.name,
          detail: input.role,
        });
        return { token };
      }),
    list: admin.query(({ ctx }) => listTokens(ctx.deps)),
    /** Revoke by id (a prefix of at least 6 hex digits) or name: refused at once, live leases taken back. */
    revoke: admin
      .input(z.object({ idOrName: z.string().min(1).max(100) }))
      .mutation(async ({ ctx, input }) => {
        const r = await revokeTokens(ctx.deps, input.idOrName);
        // Refused at once here too, not only once cached principals expire.
        ctx.auth.invalidate();
        return r;
      }),
  }),
  /** Who proposed, ran and merged what (and token changes), newest last. */
  audit: admin
    .input(z.object({ limit: z.number().int().min(1).max(10_000).default(200) }))
    .query(({ ctx, input }) => readAudit(ctx.deps, input.limit)),
  tracks: router({
    add: admin.input(AddTrackInput).mutation(({ ctx, input }) => addTrack(ctx.deps, input.files)),
    list: authedProcedure.query(({ ctx }) => ctx.deps.store.listTracks()),
    get: authedProcedure
      .input(z.object({ id: TrackId }))
      .query(({ ctx, input }) => ctx.deps.store.requireTrack(input.id)),
    /** A file of the track at a commit (the editable and pinned files, ratchet.json). */
    file: authedProcedure
      .input(z.object({ id: TrackId, commit: CommitSha, path: z.string().min(1).max(300) }))
      .query(async ({ ctx, input }) => {
        const t = await ctx.deps.store.requireTrack(input.id);
        if (!readableTrackFiles(t).includes(input.path)) {
          throw new RatchetError(ErrorCodes.BAD_INPUT, `${input.path} is not a file of track ${input.id}`);
        }
        return { content: await ctx.deps.frontier.readFile(input.commit, input.path) };
      }),
  }),
  workers: router({
    register: worker
      .input(RegisterInput)
      .mutation(({ ctx, input }) => registerWorker(ctx.deps, ctx.principal, input)),
    // A worker ID serves only the token that registered it (service/principals.ts): `lease`
    // checks it on the worker record it reads anyway, the others here.
    lease: worker.input(LeaseInput).mutation(async ({ ctx, input, signal }) => {
      await assertUnderLimit(ctx.deps, ctx.principal, 'lease');
      // Stop polling when the coordinator shuts down or the worker hangs up.
      const stop = linkSignals(ctx.signal, signal);
      let l: Awaited<ReturnType<typeof lease>>;
      try {
        l = await lease(ctx.deps, ctx.principal, input.workerId, input.waitMs, stop.signal);
      } finally {
        stop.dispose();
      }
      if (l) {
        await countUse(ctx.deps, ctx.principal, 'lease');
        await audit(ctx.deps, {
          actor: actorOf(ctx.principal),
          action: 'lease',
          subject: l.experimentId,
          detail: input.workerId,
        });
      }
      return { lease: l };
    }),
    heartbeat: worker.input(HeartbeatInput).mutation(async ({ ctx, input }) => {
      await requireOwnWorker(ctx.deps, ctx.principal, input.workerId);
      return heartbeat(ctx.deps, input);
    }),
    complete: worker.input(CompleteInput).mutation(async ({ ctx, input }) => {
      await requireOwnWorker(ctx.deps, ctx.principal, input.workerId);
      const r = await complete(ctx.deps, input);
      const actor = actorOf(ctx.principal);
      await audit(ctx.deps, {
        actor,
        action: 'run',
        subject: input.experimentId,
        detail: input.outcome.status,
      });
      const exp = await ctx.deps.store.getExperiment(input.experimentId);
      // A batch run merges its members; any other run its own proposal.
      const batch = exp?.batchId ? await ctx.deps.store.batches.get(exp.batchId) : null;
      const ids = exp ? [...(exp.proposalId ? [exp.proposalId] : []), ...(batch?.members ?? [])] : [];
      for (const id of new Set(ids)) {
        const p = await ctx.deps.store.getProposal(id);
        if (p?.status === 'merged') {
          await audit(ctx.deps, {
            actor: p.proposer,
            action: 'merge',
            subject: p.id,
            detail: p.mergedCommit ?? '',
          });
        }
      }
      return r;
    }),
    release: worker.input(ReleaseInput).mutation(async ({ ctx, input }) => {
      await requireOwnWorker(ctx.deps, ctx.principal, input.workerId);
      const r = await release(ctx.deps, input);
      await audit(ctx.deps, {
        actor: actorOf(ctx.principal),
        action: 'release',
        subject: input.experimentId,
        detail: input.reason,
      });
      return r;
    }),
    list: authedProcedure.query(({ ctx }) => ctx.deps.store.listWorkers()),
  }),
  proposals: router({
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
    get: authedProcedure
      .input(z.object({ id: Id }))
      .query(({ ctx, input }) => getProposal(ctx.deps, input.id)),
    list: authedProcedure
      .input(z.object({ track: TrackId, limit: z.number().int().min(1).max(1000).default(100) }))
      .query(async ({ ctx, input }) => {
        await ctx.deps.store.requireTrack(input.track);
        return ctx.deps.store.listProposals(input.track, input.limit);
      }),
  }),
  experiments: router({
    get: authedProcedure.input(z.object({ id: Id })).query(async ({ ctx, input }) => {
      const e = await ctx.deps.store.requireExperiment(input.id);
      return { ...e, progress: await ctx.deps.store.getProgress(e.id) };
    }),
    list: authedProcedure.input(z.object({ track: TrackId })).query(async ({ ctx, input }) => {
      await ctx.deps.store.requireTrack(input.track);
      return ctx.deps.store.listExperiments(input.track);
    }),
  }),
  leaderboard: authedProcedure.query(({ ctx }) => leaderboard(ctx.deps)),
  results: authedProcedure
    .input(z.object({ track: TrackId }))
    .query(({ ctx, input }) => resultRows(ctx.deps, input.track)),
  /** Per merged commit, its delta on each hardware class measured so far. */
  portability: router({
    matrix: authedProcedure
      .input(z.object({ track: TrackId }))
      .query(({ ctx, input }) => portabilityMatrix(ctx.deps, input.track)),
  }),
});

export type AppRouter = typeof appRouter;
