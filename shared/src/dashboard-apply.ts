/**
 * Applying the dashboard's messages to a snapshot. Types only from the schemas, so the
 * browser bundle that imports this does not carry zod.
 */
import type { DashMessage, DashSnapshot } from './dashboard.ts';

/** Apply a message to a snapshot (the page and the CLI share this). */
export function applyDashMessage(cur: DashSnapshot | null, msg: DashMessage): DashSnapshot | null {
  if (msg.type === 'snapshot') return msg.data;
  if (!cur) return null;
  const next: DashSnapshot = { ...cur, at: msg.at };
  if (msg.tracks) next.tracks = msg.tracks;
  if (msg.workers) next.workers = msg.workers;
  if (msg.queue) next.queue = msg.queue;
  if (msg.leaderboard) next.leaderboard = msg.leaderboard;
  if (msg.portability) next.portability = msg.portability;
  if (msg.experiments && msg.experiments.length > 0) {
    const byId = new Map(cur.experiments.map((e, i) => [e.id, i]));
    const rows = cur.experiments.slice();
    for (const e of msg.experiments) {
      const i = byId.get(e.id);
      if (i === undefined) {
        byId.set(e.id, rows.length);
        rows.push(e);
      } else rows[i] = e;
    }
    next.experiments = rows;
  }
  return next;
}
