/** `ratchet status`: the dashboard's read model as aligned tables. */
import {
  type DashSnapshot,
  ErrorCodes,
  frontierClasses,
  frontierSeries,
  progressFields,
  RatchetError,
} from '@ratchet/shared';
import { type Cell, formatTable } from './table.ts';

/** The snapshot the page starts from, over HTTP with the token in the Authorization header. */
export async function fetchSnapshot(url: string, token: string): Promise<DashSnapshot> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/api/dashboard/snapshot`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new RatchetError(
      ErrorCodes.COORDINATOR_UNREACHABLE,
      `cannot reach ${url}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const body = (await res.json().catch(() => null)) as
    | (DashSnapshot & { error?: { code?: string; message?: string } })
    | null;
  if (!res.ok || !body) {
    const code = body?.error?.code ?? ErrorCodes.INTERNAL;
    throw new RatchetError(
      code === ErrorCodes.UNAUTHENTICATED ? ErrorCodes.UNAUTHENTICATED : ErrorCodes.INTERNAL,
      `status: HTTP ${res.status}${body?.error?.message ? `: ${body.error.message}` : ''}`,
    );
  }
  return body;
}

const f6 = (v: number | null | undefined) => (v === null || v === undefined ? '' : v.toFixed(6));

function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export function formatStatus(s: DashSnapshot, now = Date.now()): string {
  const out: string[] = [];
  const trackRows: Cell[][] = [];
  for (const t of s.tracks) {
    const classes = frontierClasses(s.experiments, t.id);
    if (classes.length === 0) trackRows.push([t.id, t.head.slice(0, 7), t.budgetS, '', '', '', '', '']);
    for (const c of classes) {
      const f = frontierSeries(s.experiments, t.id, c);
      const best = f.best[f.best.length - 1];
      const kept = f.points.filter((p) => p.kind === 'kept').length;
      trackRows.push([
        t.id,
        t.head.slice(0, 7),
        t.budgetS,
        c,
        f6(best),
        f.points.length,
        kept,
        f.merges.length,
      ]);
    }
  }
  out.push('tracks:');
  out.push(
    formatTable(['track', 'head', 'budget_s', 'class', 'best', 'measured', 'kept', 'merged'], trackRows),
  );

  out.push('', `workers: ${s.workers.filter((w) => w.state !== 'gone').length} live of ${s.workers.length}`);
  out.push(
    formatTable(
      ['worker', 'class', 'state', 'progress', 'job', 'done', 'trust', 'seen'],
      s.workers.map((w) => {
        const f = w.progress ? progressFields(w.progress.line) : null;
        const progress =
          w.state === 'running' && w.progress
            ? `${(w.progress.percent ?? 0).toFixed(1)}% step ${f?.step ?? '?'}${f?.loss != null ? ` loss ${f.loss.toFixed(4)}` : ''}${f?.remainingS != null ? ` ${f.remainingS}s left` : ''}`
            : '';
        return [
          w.name,
          w.hardwareClass,
          w.state,
          progress,
          (w.jobLabel ?? '').slice(0, 48),
          w.done,
          w.trusted ? `trusted ${w.trust}` : w.trust,
          ago(w.lastSeenAt, now),
        ];
      }),
    ),
  );

  const depths = Object.entries(s.queue.depths).sort((a, b) => a[0].localeCompare(b[0]));
  out.push(
    '',
    `queue: ${depths.reduce((a, [, n]) => a + n, 0)} waiting, ${s.queue.batches.length} batch(es) in flight`,
  );
  out.push(
    formatTable(
      ['queue', 'waiting', 'next'],
      depths.map(([q, n]) => [
        q,
        n,
        s.queue.next
          .filter((x) => x.queue === q)
          .map((x) => x.label)
          .join('; ')
          .slice(0, 80),
      ]),
    ),
  );

  out.push('', 'strategies (gain per device-hour):');
  out.push(
    formatTable(
      [
        'track',
        'strategy',
        'proposer',
        'proposed',
        'evaluated',
        'confirmed',
        'merged',
        'gain',
        'device_h',
        'gain_per_h',
        'invalid',
      ],
      s.leaderboard.map((r) => [
        r.track,
        r.strategy,
        r.proposer,
        r.proposals,
        r.evaluated,
        r.confirmed,
        r.merged,
        f6(Object.values(r.gainByClass).reduce((a, b) => a + b, 0)),
        r.gpuHours.toFixed(3),
        r.gainPerGpuHour.toFixed(4),
        `${(100 * r.invalidRate).toFixed(0)}%`,
      ]),
    ),
  );
  return `${out.join('\n')}\n`;
}
