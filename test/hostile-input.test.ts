/**
 * Hostile and malformed input over real HTTP: every refusal is a 4xx with a stable code,
 * nothing changes, and a body is never read before its token is checked.
 */
import { request } from 'node:http';
import { ErrorCodes, type Lease } from '@ratchet/shared';
import { createClient } from '@ratchet/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinator, TEST_CPU_PROFILE, type TestCoordinator } from './support/harness.ts';

const profile = TEST_CPU_PROFILE;

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

interface Reply {
  status: number;
  ratchetCode: string | undefined;
  body: string;
}

async function post(url: string, path: string, body: string, token: string | null): Promise<Reply> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await res.text();
  let ratchetCode: string | undefined;
  try {
    const j = JSON.parse(text) as { error?: { data?: { ratchetCode?: string }; code?: string } };
    ratchetCode = j.error?.data?.ratchetCode ?? j.error?.code;
  } catch {
    ratchetCode = undefined;
  }
  return { status: res.status, ratchetCode, body: text };
}

async function leaseOne(tc: TestCoordinator) {
  const { token } = await tc.admin.tokens.create.mutate({ role: 'worker', name: 'w' });
  const w = createClient(tc.url, token);
  const { workerId } = await w.workers.register.mutate({ name: 'w', profile });
  const lease = (await w.workers.lease.mutate({ workerId, waitMs: 0 })).lease as Lease;
  expect(lease).not.toBeNull();
  return { token, workerId, lease };
}

const metrics = (val_bpb: unknown) => ({
  val_bpb,
  training_seconds: 1,
  total_seconds: 1,
  peak_vram_mb: null,
  mfu_percent: null,
  total_tokens_M: null,
  num_steps: 5,
  num_params_M: null,
  depth: null,
});
const timings = { leasedAt: 1, checkoutMs: 0, prepareMs: 0, trainStartAt: 2, trainExitAt: 3, reportedAt: 4 };

describe('hostile input', () => {
  it('answers every malformed completion with a 4xx and a stable code, and changes nothing', async () => {
    t = await startCoordinator();
    const { token, workerId, lease } = await leaseOne(t);
    const ref = { workerId, experimentId: lease.experimentId, leaseToken: lease.leaseToken };
    const ok = (val_bpb: unknown, logTail = '') =>
      JSON.stringify({
        ...ref,
        outcome: { status: 'ok', metrics: metrics(val_bpb), extra: {}, logTail, timings },
      });
    const bodies: Record<string, string> = {
      'bad JSON': '{"workerId": ',
      'a null body': 'null',
      'wrong types': JSON.stringify({ ...ref, workerId: 42, outcome: 'yes' }),
      'val_bpb -1': ok(-1),
      'val_bpb 0': ok(0),
      'val_bpb NaN': ok(0).replace('"val_bpb":0', '"val_bpb":NaN'),
      'val_bpb null': ok(null),
      'val_bpb as a string': ok('0.97'),
      'val_bpb 1e309': ok(0).replace('"val_bpb":0', '"val_bpb":1e309'),
      'val_bpb -1e308': ok(-1e308),
      'val_bpb 1e308': ok(1e308),
      'total_tokens_M 1e308': ok(1.5).replace('"total_tokens_M":null', '"total_tokens_M":1e308'),
      'num_steps -5': ok(1.5).replace('"num_steps":5', '"num_steps":-5'),
      'a 20 KB log tail': ok(1.5, 'x'.repeat(20_000)),
    };
    for (const [what, body] of Object.entries(bodies)) {
      const r = await post(t.url, '/trpc/workers.complete', body, token);
      expect({ what, status: r.status, code: r.ratchetCode }).toEqual({
        what,
        status: 400,
        code: ErrorCodes.BAD_INPUT,
      });
    }
    // Nothing changed: the lease is still live and an honest result is taken once.
    const e = await t.admin.experiments.get.query({ id: lease.experimentId });
    expect(e.status).toBe('running');
    const done = await post(t.url, '/trpc/workers.complete', ok(1.25), token);
    expect(done.status).toBe(200);
    expect((await t.admin.experiments.get.query({ id: lease.experimentId })).status).not.toBe('running');
  });

  it('refuses a request without a valid token before reading its body', async () => {
    t = await startCoordinator();
    const target = new URL(`${t.url}/trpc/proposals.submit`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(30 * 1024 * 1024) },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        // The server may close the connection right after answering; that is fine.
        if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
      });
      // Announce 30 MB but send only the first kilobyte: the answer must not wait for the rest.
      req.write(`{"track":"${'a'.repeat(1000)}`);
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toContain(ErrorCodes.UNAUTHENTICATED);
  });

  it('caps request bodies per route', async () => {
    t = await startCoordinator();
    const { token } = await t.admin.tokens.create.mutate({ role: 'worker', name: 'w' });
    const r = await post(
      t.url,
      '/trpc/workers.heartbeat',
      JSON.stringify({ pad: 'x'.repeat(2_000_000) }),
      token,
    );
    expect(r.status).toBe(413);
    expect(r.ratchetCode).toBe(ErrorCodes.BAD_INPUT);
  });

  it('guards /metrics with a bearer token when one is configured', async () => {
    t = await startCoordinator({ RATCHET_METRICS_TOKEN: 'scrape-secret-0123456789' });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${t.url}/metrics`, {
      headers: { authorization: 'Bearer scrape-secret-0123456789' },
    });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('# HELP');
  });
});
