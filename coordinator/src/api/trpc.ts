/**
 * tRPC setup: the context carries the caller's principal; procedures declare the role they
 * need. This layer alone turns RatchetErrors into TRPCErrors; the stable code travels in
 * `error.data.ratchetCode`.
 */
import { type ErrorCode, ErrorCodes, isRatchetError, type Role } from '@ratchet/shared';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { Auth, Principal } from '../auth/tokens.ts';
import type { Deps } from '../deps.ts';

export interface Context {
  principal: Principal | null;
  deps: Deps;
  auth: Auth;
  signal: AbortSignal;
}

const HTTP_OF: Partial<Record<ErrorCode, TRPCError['code']>> = {
  [ErrorCodes.UNAUTHENTICATED]: 'UNAUTHORIZED',
  [ErrorCodes.FORBIDDEN]: 'FORBIDDEN',
  [ErrorCodes.WORKER_NOT_OWNED]: 'FORBIDDEN',
  [ErrorCodes.TOKEN_REVOKED]: 'UNAUTHORIZED',
  [ErrorCodes.TOKEN_EXPIRED]: 'UNAUTHORIZED',
  [ErrorCodes.RATE_LIMITED]: 'TOO_MANY_REQUESTS',
  [ErrorCodes.TRACK_UNKNOWN]: 'NOT_FOUND',
  [ErrorCodes.PROPOSAL_UNKNOWN]: 'NOT_FOUND',
  [ErrorCodes.EXPERIMENT_UNKNOWN]: 'NOT_FOUND',
  [ErrorCodes.WORKER_UNKNOWN]: 'NOT_FOUND',
  [ErrorCodes.COMMIT_UNKNOWN]: 'NOT_FOUND',
  [ErrorCodes.TRACK_EXISTS]: 'CONFLICT',
  [ErrorCodes.LEASE_LOST]: 'CONFLICT',
  [ErrorCodes.LEASE_FINISHED]: 'CONFLICT',
  [ErrorCodes.LEASE_UNKNOWN]: 'CONFLICT',
  [ErrorCodes.MERGE_BUSY]: 'TIMEOUT',
  [ErrorCodes.COMPLETION_BUSY]: 'TIMEOUT',
  [ErrorCodes.REDIS_UNAVAILABLE]: 'INTERNAL_SERVER_ERROR',
  [ErrorCodes.GIT_FAILED]: 'INTERNAL_SERVER_ERROR',
  [ErrorCodes.INTERNAL]: 'INTERNAL_SERVER_ERROR',
};

export function toTrpcError(e: unknown): unknown {
  if (!isRatchetError(e)) return e;
  return new TRPCError({ code: HTTP_OF[e.code] ?? 'BAD_REQUEST', message: e.message, cause: e });
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let ratchetCode: string = ErrorCodes.INTERNAL;
    if (isRatchetError(cause)) ratchetCode = cause.code;
    else if (cause instanceof ZodError || error.code === 'BAD_REQUEST' || error.code === 'PARSE_ERROR') {
      ratchetCode = ErrorCodes.BAD_INPUT;
    } else if (error.code === 'NOT_FOUND') ratchetCode = ErrorCodes.BAD_INPUT;
    return { ...shape, data: { ...shape.data, ratchetCode, stack: undefined } };
  },
});

export const router = t.router;

/**
 * Only a RatchetError is translated; any other error (tRPC's own BAD_REQUEST for input that
 * fails its schema, PARSE_ERROR for bad JSON) keeps its code, so it stays a 4xx.
 */
function mapError<R extends { ok: boolean; error?: { cause?: unknown } }>(res: R): R {
  if (!res.ok && isRatchetError(res.error?.cause)) throw toTrpcError(res.error.cause);
  return res;
}

/**
 * The caller's role check and the error translation in one middleware: each middleware is one
 * more suspended async frame (and its promises) for as long as a call runs, and a lease long
 * poll runs for its whole wait.
 */
export function roleProcedure(role: Role) {
  return t.procedure.use(async ({ ctx, next }) => {
    let principal: Principal;
    try {
      principal = ctx.auth.require(ctx.principal, role);
    } catch (e) {
      throw toTrpcError(e);
    }
    return mapError(await next({ ctx: { ...ctx, principal } }));
  });
}

/** Any valid token, whatever its role. */
export const authedProcedure = t.procedure.use(async ({ ctx, next }) => {
  if (!ctx.principal) {
    try {
      ctx.auth.require(null, 'worker');
    } catch (e) {
      throw toTrpcError(e);
    }
  }
  return mapError(await next({ ctx: { ...ctx, principal: ctx.principal! } }));
});
