/** Tokens and the audit trail: admin only. */
import { Role } from '@ratchet/shared';
import { z } from 'zod';
import { actorOf, audit, listTokens, readAudit, revokeTokens } from '../../auth/registry.ts';
import { roleProcedure, router } from '../trpc.ts';

const admin = roleProcedure('admin');

export const tokensRouter = router({
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
  revoke: admin.input(z.object({ idOrName: z.string().min(1).max(100) })).mutation(async ({ ctx, input }) => {
    const r = await revokeTokens(ctx.deps, input.idOrName);
    // Refused at once here too, not only once cached principals expire.
    ctx.auth.invalidate();
    return r;
  }),
});

/** Who proposed, ran and merged what (and token changes), newest last. */
export const auditProcedure = admin
  .input(z.object({ limit: z.number().int().min(1).max(10_000).default(200) }))
  .query(({ ctx, input }) => readAudit(ctx.deps, input.limit));
