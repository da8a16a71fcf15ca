/** The worker protocol: register, lease (long poll), heartbeat, complete, release. */
import { CompleteInput, HeartbeatInput, LeaseInput, RegisterInput, ReleaseInput } from '@ratchet/shared';
import { requireOwnWorker } from '../../auth/principals.ts';
import { actorOf, assertUnderLimit, audit, countUse } from '../../auth/registry.ts';
import { complete, heartbeat, lease, registerWorker, release } from '../../lease/leasing.ts';
import { linkSignals } from '../linked-signal.ts';
import { authedProcedure, roleProcedure, router } from '../trpc.ts';

const worker = roleProcedure('worker');

export const workersRouter = router({
  register: worker
    .input(RegisterInput)
    .mutation(({ ctx, input }) => registerWorker(ctx.deps, ctx.principal, input)),
  // A worker ID serves only the token that registered it (auth/principals.ts): `lease`
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
});
