/**
 * buildApp(deps) → a Fastify instance (tests drive it with inject() or listen on port 0).
 * Routes: /trpc/* (the API), /git/* (read-only smart HTTP), /tracks/:id/results.tsv,
 * /metrics, /healthz, and the dashboard (`/`, /api/dashboard/*: dashboard/routes.ts).
 */
import { createReadStream } from 'node:fs';
import { ErrorCodes, formatResultsTsv, isRatchetError } from '@ratchet/shared';
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { registerTrpc } from './api/fastify-trpc.ts';
import { createApiGuard, metricsAllowed, principalOf } from './api/guard.ts';
import { appRouter } from './api/router.ts';
import type { Context } from './api/trpc.ts';
import { type Auth, tokenFromHeader } from './auth/tokens.ts';
import { registerDashboard } from './dashboard/routes.ts';
import type { Deps } from './deps.ts';
import { isAllowedGitPath, serveGit } from './frontier/git-http.ts';
import { instrumentHttp } from './metrics/http.ts';
import type { Metrics } from './metrics/metrics.ts';
import { resultRows } from './reports/report.ts';

export interface AppDeps {
  deps: Deps;
  auth: Auth;
  metrics: Metrics;
  signal: AbortSignal;
  logLevel?: string;
  /** When set, /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string | null;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

export function buildApp(a: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: { level: a.logLevel ?? 'warn' },
    routerOptions: { maxParamLength: 5000 },
    bodyLimit: 32 * 1024 * 1024,
    // On close, end every connection: a client that went away mid-response (a worker
    // stopping during a lease long poll) must not hold the coordinator's shutdown open.
    forceCloseConnections: true,
  });
  instrumentHttp(app, a.metrics.instruments);

  app.get('/healthz', async (_req, reply) => {
    try {
      await a.deps.store.ping();
      return { ok: true };
    } catch {
      return sendError(reply, 503, ErrorCodes.REDIS_UNAVAILABLE, 'redis is unreachable');
    }
  });

  app.get('/metrics', async (req, reply) => {
    if (!metricsAllowed(req.headers.authorization, a.metricsToken ?? null)) {
      return sendError(
        reply,
        401,
        ErrorCodes.UNAUTHENTICATED,
        'this coordinator requires a token for /metrics',
      );
    }
    reply.type(a.metrics.registry.contentType);
    return a.metrics.registry.metrics();
  });

  // ?class=C: upstream's file compares runs of one hardware class.
  type ResultsRoute = { Params: { id: string }; Querystring: { class?: string } };
  app.get<ResultsRoute>('/tracks/:id/results.tsv', async (req, reply) => {
    const p = await a.auth.resolve(tokenFromHeader(req.headers.authorization));
    if (!p) return sendError(reply, 401, ErrorCodes.UNAUTHENTICATED, 'missing or unknown token');
    try {
      const cls = req.query.class;
      const rows = (await resultRows(a.deps, req.params.id)).filter((r) => !cls || r.hardwareClass === cls);
      return reply.type('text/tab-separated-values; charset=utf-8').send(formatResultsTsv(rows));
    } catch (e) {
      if (isRatchetError(e) && e.code === ErrorCodes.TRACK_UNKNOWN)
        return sendError(reply, 404, e.code, e.message);
      throw e;
    }
  });

  app.get<{ Params: { name: string } }>('/data/:name', async (req, reply) => {
    const p = await a.auth.resolve(tokenFromHeader(req.headers.authorization));
    if (!p) return sendError(reply, 401, ErrorCodes.UNAUTHENTICATED, 'missing or unknown token');
    try {
      const f = await a.deps.trackData.get(req.params.name);
      return reply
        .header('x-ratchet-sha256', f.sha256)
        .header('content-length', f.bytes)
        .type('application/octet-stream')
        .send(createReadStream(f.path));
    } catch (e) {
      if (isRatchetError(e) && e.code === ErrorCodes.BAD_INPUT)
        return sendError(reply, 404, e.code, e.message);
      throw e;
    }
  });

  void app.register(async (git) => {
    git.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    git.all('/git/*', async (req, reply) => {
      const p = await a.auth.resolve(tokenFromHeader(req.headers.authorization));
      if (!p) {
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Basic realm="ratchet"')
          .send({ error: { code: ErrorCodes.UNAUTHENTICATED, message: 'token required' } });
      }
      const url = new URL(req.url, 'http://x');
      const pathInfo = url.pathname.slice('/git'.length);
      const query = url.search.slice(1);
      if (!isAllowedGitPath(pathInfo, query) || (req.method !== 'GET' && req.method !== 'POST')) {
        return sendError(reply, 403, ErrorCodes.FORBIDDEN, 'the frontier is read-only');
      }
      reply.hijack();
      serveGit(
        a.deps.frontier.path,
        {
          method: req.method,
          pathInfo,
          query,
          headers: req.headers,
          body: req.method === 'POST' ? (req.body as NodeJS.ReadableStream) : null,
        },
        reply.raw,
      );
    });
  });

  registerDashboard(app, { deps: a.deps, auth: a.auth });

  void app.register(async (api) => {
    // Token and size checks happen before any body is read.
    api.addHook('onRequest', createApiGuard(a.auth));
    registerTrpc(api, {
      prefix: '/trpc',
      router: appRouter,
      createContext: async ({ req }: CreateFastifyContextOptions): Promise<Context> => ({
        principal: principalOf(req),
        deps: a.deps,
        auth: a.auth,
        signal: a.signal,
      }),
    });
  });

  return app;
}
