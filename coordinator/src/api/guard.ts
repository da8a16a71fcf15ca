/**
 * The API's front door, run on `onRequest`, before Fastify reads a body: the caller's token
 * is checked first (no token, no parsing: an anonymous 30 MB body costs one header read),
 * then the declared body size against the procedure's own cap. Refusals use tRPC's error
 * shape, so clients see the same `data.ratchetCode` as for errors raised in a procedure.
 */
import { timingSafeEqual } from 'node:crypto';
import { ErrorCodes } from '@ratchet/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Auth, hashToken, type Principal, tokenFromHeader } from '../auth/tokens.ts';

/** Bytes a procedure's request body may have. Patches and track files are the big ones. */
const BODY_LIMITS: Record<string, number> = {
  'tracks.add': 32 * 1024 * 1024,
  'proposals.submit': 2 * 1024 * 1024,
  // A log tail of 16,000 characters may grow sixfold as JSON escapes (\u0001).
  'workers.complete': 256 * 1024,
};
const DEFAULT_BODY_LIMIT = 64 * 1024;

export function bodyLimitFor(procedures: string[]): number {
  return Math.max(...procedures.map((p) => BODY_LIMITS[p] ?? DEFAULT_BODY_LIMIT));
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The principal the guard resolved for this request (null: none was needed). */
export function principalOf(req: FastifyRequest): Principal | null {
  return principals.get(req) ?? null;
}

function refuse(
  req: FastifyRequest,
  reply: FastifyReply,
  httpStatus: number,
  trpcCode: string,
  jsonRpcCode: number,
  ratchetCode: string,
  message: string,
) {
  const path = procedureNames(req).join(',');
  const error = { message, code: jsonRpcCode, data: { code: trpcCode, httpStatus, path, ratchetCode } };
  const batched = new URL(req.url, 'http://x').searchParams.get('batch') === '1';
  // The body was not read: close the connection rather than parse what follows as a request.
  return reply
    .code(httpStatus)
    .header('connection', 'close')
    .type('application/json')
    .send(batched ? procedureNames(req).map(() => ({ error })) : { error });
}

function procedureNames(req: FastifyRequest): string[] {
  const path = new URL(req.url, 'http://x').pathname.replace(/^\/trpc\/?/, '');
  return path.split(',').filter((p) => p !== '');
}

export function createApiGuard(auth: Auth) {
  return async function guard(req: FastifyRequest, reply: FastifyReply) {
    const token = tokenFromHeader(req.headers.authorization);
    const principal = await auth.resolve(token);
    if (!principal) {
      const why = (await auth.refusal(token)) ?? {
        code: ErrorCodes.UNAUTHENTICATED,
        message: 'missing or unknown token',
      };
      return refuse(req, reply, 401, 'UNAUTHORIZED', -32001, why.code, why.message);
    }
    principals.set(req, principal);
    const declared = Number(req.headers['content-length'] ?? 0);
    const limit = bodyLimitFor(procedureNames(req));
    if (declared > limit) {
      return refuse(
        req,
        reply,
        413,
        'PAYLOAD_TOO_LARGE',
        -32413,
        ErrorCodes.BAD_INPUT,
        `request body of ${declared} bytes is over this call's limit of ${limit}`,
      );
    }
  };
}

/** `/metrics` behind a bearer token when one is configured; open otherwise. */
export function metricsAllowed(header: string | undefined, metricsToken: string | null): boolean {
  if (!metricsToken) return true;
  const given = tokenFromHeader(header);
  if (!given) return false;
  // Equal-length digests, compared in constant time.
  return timingSafeEqual(Buffer.from(hashToken(given), 'hex'), Buffer.from(hashToken(metricsToken), 'hex'));
}
