/**
 * One signal that aborts when either of two does, undone when the call ends.
 * `AbortSignal.any` keeps a reference to the combined signal on each source for as long as
 * the source lives; on the coordinator's lifetime signal, every lease call left one behind.
 */
import { getEventListeners } from 'node:events';

export interface LinkedSignal {
  signal: AbortSignal;
  /** Detach from both sources; call when the work the signal guards is over. */
  dispose(): void;
}

export function linkSignals(a: AbortSignal, b?: AbortSignal): LinkedSignal {
  const c = new AbortController();
  const sources = b ? [a, b] : [a];
  const onAbort = () => {
    dispose();
    c.abort();
  };
  function dispose() {
    for (const s of sources) s.removeEventListener('abort', onAbort);
  }
  if (sources.some((s) => s.aborted)) c.abort();
  else for (const s of sources) s.addEventListener('abort', onAbort, { once: true });
  return { signal: c.signal, dispose };
}

/** What a signal holds on to: abort listeners plus signals derived with AbortSignal.any. */
export function attachedTo(s: AbortSignal): number {
  const events = s as unknown as Record<symbol, unknown>;
  let derived = 0;
  for (const sym of Object.getOwnPropertySymbols(s)) {
    // Node's own Set subclass: not `instanceof Set` in every realm (vitest's included).
    const size = (events[sym] as { size?: unknown } | undefined)?.size;
    if (sym.description === 'kDependantSignals' && typeof size === 'number') derived += size;
  }
  return listenerCount(s) + derived;
}

function listenerCount(s: AbortSignal): number {
  // node:events reads EventTarget listeners too.
  return getEventListeners(s, 'abort').length;
}
