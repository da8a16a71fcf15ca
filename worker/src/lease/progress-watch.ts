/**
 * The running job's progress as the terminal shows it: the job log's last progress line,
 * read every `intervalMs` (the coordinator gets it only with heartbeats, far less often).
 */
import { type Lease, type Progress, parseProgress } from '@ratchet/shared';
import { readLogTail } from '../runner/job.ts';

/** What a worker's job is doing, for a progress display. */
export type JobEvent =
  | { type: 'start'; lease: Lease }
  | { type: 'progress'; lease: Lease; progress: Progress }
  | { type: 'end'; lease: Lease; valBpb: number | null; status: string };

export function watchProgress(
  file: string,
  lease: Lease,
  onJob: (e: JobEvent) => void,
  intervalMs = 500,
): () => void {
  let last = '';
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    readLogTail(file, 2000)
      .then((tail) => {
        const p = parseProgress(tail);
        if (p && p.line !== last) {
          last = p.line;
          onJob({ type: 'progress', lease, progress: p });
        }
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  return () => clearInterval(timer);
}
