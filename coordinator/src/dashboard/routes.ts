/**
 * The dashboard's HTTP side. The page itself (`/`, `/app.js`, `/app.css`) holds no data and
 * needs no token; everything under `/api/dashboard/` needs one of any role (`viewer` is the
 * read-only one), sent as `Authorization: Bearer T` — never in a URL, so it is not logged.
 *
 *   GET /api/dashboard/snapshot          the read model, once (JSON; `ratchet status` uses it)
 *   GET /api/dashboard/events            server-sent events: a snapshot, then diffs
 *   GET /api/dashboard/experiments/:id   one experiment with its patch, log tail and numbers
 */
import { join } from 'node:path';
import { createGzip, constants as zlib } from 'node:zlib';
import fastifyStatic from '@fastify/static';
import { type DashExperimentDetail, ErrorCodes, Id, isRatchetError } from '@ratchet/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Auth, tokenFromHeader } from '../auth/tokens.ts';
import type { Deps } from '../deps.ts';
import { type Asset, lazyBundle, WEB_DIR } from './bundle.ts';
import { createDashboardHub, type DashboardHub } from './hub.ts';
import { experimentRow } from './read-model.ts';
import { createDashboardSource } from './source.ts';

export interface DashboardOptions {
  deps: Deps;
  auth: Auth;
  /** How often the hub reads a snapshot while someone watches (default 500 ms). */
  intervalMs?: number;
  webDir?: string;
}

function refuse(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

function sendAsset(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  reply.header('etag', a.etag).header('cache-control', 'no-cache').type(a.type);
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding').send(a.gzip);
  }
  return reply.send(a.body);
}

export function registerDashboard(app: FastifyInstance, o: DashboardOptions): DashboardHub {
  const webDir = o.webDir ?? WEB_DIR;
  const source = createDashboardSource(o.deps, { liveWindowMs: o.deps.config.leaseTtlMs * 3 });
  const hub = createDashboardHub({
    snapshot: () => source.snapshot(),
    ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
    onError: (e) => app.log.warn({ err: e }, 'dashboard snapshot failed'),
  });
  app.addHook('onClose', () => hub.close());
  const bundle = lazyBundle(webDir);

  const viewer = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = tokenFromHeader(req.headers.authorization);
    const p = await o.auth.resolve(token);
    if (!p) {
      // Unknown, revoked or expired: say which, with its code.
      const why = (await o.auth.refusal(token)) ?? {
        code: ErrorCodes.UNAUTHENTICATED,
        message: 'missing or unknown token',
      };
      await refuse(reply, 401, why.code, why.message);
      return null;
    }
    return p;
  };

  void app.register(fastifyStatic, { root: join(webDir, 'public'), prefix: '/', wildcard: false });

  for (const name of ['app.js', 'app.css']) {
    app.get(`/${name}`, async (req, reply) => {
      const a = (await bundle()).get(name);
      if (!a) return refuse(reply, 404, ErrorCodes.BAD_INPUT, `no ${name}`);
      return sendAsset(req, reply, a);
    });
  }

  app.get('/api/dashboard/snapshot', async (req, reply) => {
    if (!(await viewer(req, reply))) return reply;
    return source.snapshot();
  });

  app.get('/api/dashboard/events', async (req, reply) => {
    if (!(await viewer(req, reply))) return reply;
    reply.hijack();
    const res = reply.raw;
    // Compressed when the viewer accepts it: the first message holds every experiment's row
    // (JSON that shrinks about tenfold), and a flush after each message keeps events live.
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must pass events through as they come.
      'x-accel-buffering': 'no',
      ...(gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
    });
    const out = gzip ? createGzip({ level: 1, flush: zlib.Z_SYNC_FLUSH }) : res;
    if (gzip) out.pipe(res);
    out.write('retry: 2000\n\n');
    const unsubscribe = hub.subscribe({
      write: (c) => out.write(c),
      buffered: () => res.writableLength + (out === res ? 0 : out.writableLength),
      close: () => out.end(),
    });
    // A viewer that hangs up mid-write (or a coordinator closing) is not an error worth more
    // than dropping the viewer: never let it surface as an unhandled 'error' event.
    res.on('error', unsubscribe);
    if (out !== res) out.on('error', unsubscribe);
    res.on('close', () => {
      unsubscribe();
      if (out !== res) out.destroy();
    });
  });

  app.get<{ Params: { id: string } }>('/api/dashboard/experiments/:id', async (req, reply) => {
    if (!(await viewer(req, reply))) return reply;
    if (!Id.safeParse(req.params.id).success)
      return refuse(reply, 400, ErrorCodes.BAD_INPUT, 'not an experiment id');
    try {
      const e = await o.deps.store.requireExperiment(req.params.id);
      const p = e.proposalId ? await o.deps.store.getProposal(e.proposalId) : null;
      const members = new Map(
        (await o.deps.store.getProposals(e.batch ? e.members : [])).map((m) => [m.id, m]),
      );
      const w = e.workerId ? await o.deps.store.getWorker(e.workerId) : null;
      const d = p?.decision ?? null;
      const detail: DashExperimentDetail = {
        row: experimentRow(e, p, w?.name ?? null, (id) => members.get(id)),
        patch: e.batch ? e.patch : (p?.patch ?? null),
        logTail: e.logTail,
        conflict: p?.conflict ?? null,
        decision: d
          ? {
              n: d.n,
              m: d.m,
              candidateMean: d.candidateMean,
              baselineMean: d.baselineMean,
              sigma: d.sigma,
              t: d.t,
              tCrit: d.tCrit,
            }
          : null,
      };
      return detail;
    } catch (e) {
      if (isRatchetError(e) && e.code === ErrorCodes.EXPERIMENT_UNKNOWN)
        return refuse(reply, 404, e.code, e.message);
      throw e;
    }
  });

  return hub;
}
