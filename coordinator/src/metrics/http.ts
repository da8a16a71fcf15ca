/**
 * Request durations per route. tRPC calls are labelled by procedure (`trpc:workers.lease`
 * is the lease latency, long poll included); only procedures of the router become labels,
 * anything else is `trpc:other`, so a client cannot mint label values.
 */
import type { FastifyInstance } from 'fastify';
import { appRouter } from '../api/router.ts';
import type { Instruments } from './instruments.ts';

const procedures = new Set(Object.keys(appRouter._def.procedures as Record<string, unknown>));

/** The route label of a request path (without its query). */
export function routeLabel(path: string, route: string | undefined): string {
  if (path.startsWith('/trpc/')) {
    const names = decodeURIComponent(path.slice('/trpc/'.length)).split(',');
    if (names.length > 1) return 'trpc:batch';
    return procedures.has(names[0] ?? '') ? `trpc:${names[0]}` : 'trpc:other';
  }
  return route ?? 'unmatched';
}

export function instrumentHttp(app: FastifyInstance, m: Instruments) {
  app.addHook('onResponse', async (req, reply) => {
    const path = req.url.split('?', 1)[0] ?? '';
    m.httpDuration.observe(
      { route: routeLabel(path, req.routeOptions.url), code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
