/**
 * tRPC over Fastify, as `@trpc/server/adapters/fastify` serves it (same routes, content-type
 * parsers, context and responses), with a lighter request for the common case.
 *
 * tRPC's adapter turns every call into a full Fetch `Request` (undici): its own abort signal
 * following the adapter's, a `Headers` copy of every header, a parsed `URL` and a
 * `ReadableStream` over a body Fastify has already read. A lease long poll holds all of it for
 * its whole wait: with thousands of workers waiting, that is several KB per waiting call for
 * nothing. `resolveResponse` reads only `method`, `url`, `headers.get/has`, `signal` and
 * `text()` of a JSON or GET call; those are served here straight from the Node request. Any
 * other body (multipart, a stream) goes through tRPC's own conversion.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import { incomingMessageToRequest } from '@trpc/server/adapters/node-http';
import { resolveResponse } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface TrpcRouteOptions<TContext> {
  prefix: string;
  router: AnyRouter;
  createContext(opts: CreateFastifyContextOptions): Promise<TContext>;
}

/** What resolveResponse reads of a request's headers. */
class NodeHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
}

/** The part of a Fetch `Request` that resolveResponse uses for a GET or a JSON body. */
export class LightRequest {
  readonly headers: NodeHeaders;
  constructor(
    readonly method: string,
    readonly url: string,
    raw: IncomingHttpHeaders,
    private readonly bodyText: string,
    readonly signal: AbortSignal,
  ) {
    this.headers = new NodeHeaders(raw);
  }
  text(): Promise<string> {
    return Promise.resolve(this.bodyText);
  }
  json(): Promise<unknown> {
    return Promise.resolve().then(() => JSON.parse(this.bodyText));
  }
}

/**
 * A signal that aborts when the client goes away before the answer is written (as tRPC's
 * adapter does it), with its listeners removed once the answer is written.
 */
function clientGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  const onAbort = () => {
    res.off('close', onClose);
    req.off('aborted', onAbort);
    ac.abort();
  };
  const onClose = () => {
    if (res.writableEnded) {
      req.off('aborted', onAbort);
      return;
    }
    onAbort();
  };
  res.once('close', onClose);
  req.once('aborted', onAbort);
  return ac.signal;
}

/** The request's absolute URL, or null where it does not parse (tRPC's adapter answers those). */
function absoluteUrl(req: IncomingMessage): string | null {
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const url = `${encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  return URL.canParse(url) ? url : null;
}

function toRequest(req: FastifyRequest, reply: FastifyReply): Request {
  const raw = req.raw;
  const body = req.body;
  const url = absoluteUrl(raw);
  const method = raw.method ?? 'GET';
  const bodyless = method === 'GET' || method === 'HEAD';
  if (url !== null && (bodyless || typeof body === 'string')) {
    const text = typeof body === 'string' ? body : '';
    return new LightRequest(method, url, raw.headers, text, clientGone(raw, reply.raw)) as unknown as Request;
  }
  if (body !== undefined) (raw as IncomingMessage & { body?: unknown }).body = body;
  return incomingMessageToRequest(raw, reply.raw, { maxBodySize: null });
}

/** Serves `router` at `${prefix}/:path`, as fastifyTRPCPlugin does. */
export function registerTrpc<TContext>(app: FastifyInstance, o: TrpcRouteOptions<TContext>): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.removeContentTypeParser('multipart/form-data');
  app.addContentTypeParser('multipart/form-data', {}, (_req, body, done) => done(null, body));
  app.all<{ Params: { path: string } }>(`${o.prefix}/:path`, async (req, reply) => {
    const res = await resolveResponse({
      router: o.router,
      req: toRequest(req, reply),
      path: req.params.path,
      error: null,
      createContext: ({ info }) => o.createContext({ req, res: reply, info }),
    });
    await reply.send(res);
  });
}
