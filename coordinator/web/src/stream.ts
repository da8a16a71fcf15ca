/**
 * Server-sent events over fetch (not EventSource), so the token travels in the
 * Authorization header and never in a URL. Reconnects with backoff; a 401 stops it.
 */
import type { DashMessage } from '../../../shared/src/dashboard.ts';

export interface StreamHandlers {
  onMessage(m: DashMessage): void;
  onState(s: 'connecting' | 'live' | 'down'): void;
  onRefused(message: string): void;
}

export function connect(token: string, on: StreamHandlers): () => void {
  let stopped = false;
  let ctrl: AbortController | null = null;
  let backoffMs = 500;

  async function once(): Promise<boolean> {
    ctrl = new AbortController();
    on.onState('connecting');
    const res = await fetch('/api/dashboard/events', {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: ctrl.signal,
      cache: 'no-store',
    });
    if (res.status === 401 || res.status === 403) {
      const body = (await res.json().catch(() => null)) as {
        error?: { code?: string; message?: string };
      } | null;
      on.onRefused(`${body?.error?.code ?? res.status}: ${body?.error?.message ?? 'refused'}`);
      return false;
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    on.onState('live');
    backoffMs = 500;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      buf += value;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) on.onMessage(JSON.parse(data) as DashMessage);
      }
    }
  }

  void (async () => {
    while (!stopped) {
      try {
        if (!(await once())) return;
      } catch {
        // dropped: reconnect below
      }
      if (stopped) return;
      on.onState('down');
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  })();
  return () => {
    stopped = true;
    ctrl?.abort();
  };
}

export async function fetchJson<T>(path: string, token: string): Promise<T> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
