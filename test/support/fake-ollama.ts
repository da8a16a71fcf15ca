/**
 * A loopback server speaking Ollama's /api/chat protocol (non-streaming JSON, streaming
 * NDJSON, error replies), serving scripted answers and recording what it was asked.
 * It stands in for an Ollama server, which cannot run here; the real `ollama` client talks to it.
 */
import { createServer, type Server } from 'node:http';

export type Scripted = { content: string } | { status: number; error: string };

export interface FakeOllama {
  url: string;
  requests: {
    model: string;
    messages: { role: string; content: string }[];
    stream?: boolean;
    format?: unknown;
    keep_alive?: unknown;
  }[];
  script: Scripted[];
  close(): Promise<void>;
}

export async function startFakeOllama(): Promise<FakeOllama> {
  const state: Omit<FakeOllama, 'url' | 'close'> = { requests: [], script: [] };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/chat') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'not found' }));
        return;
      }
      const r = JSON.parse(body);
      state.requests.push(r);
      const next = state.script.shift() ?? { status: 500, error: 'no scripted answer left' };
      if ('error' in next) {
        res
          .writeHead(next.status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: next.error }));
        return;
      }
      const base = { model: r.model, created_at: new Date().toISOString() };
      if (r.stream === false) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...base,
            message: { role: 'assistant', content: next.content },
            done: true,
            done_reason: 'stop',
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const half = Math.floor(next.content.length / 2);
      for (const piece of [next.content.slice(0, half), next.content.slice(half)]) {
        res.write(
          `${JSON.stringify({ ...base, message: { role: 'assistant', content: piece }, done: false })}\n`,
        );
      }
      res.end(
        `${JSON.stringify({ ...base, message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' })}\n`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    ...state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
