/**
 * Which tracks a worker runs, on which of its backends, as which class. A Mac offers mps
 * and mlx, so it runs an MPS track as `mps-m4max-128g` and an MLX track as
 * `mlx-m4max-128g`; a track none of whose backends the worker has is skipped, with the
 * reason, and a worker that can run no track at all is refused at registration.
 */
import {
  type Backend,
  backendsOf,
  ErrorCodes,
  type HardwareProfile,
  hardwareClassOf,
  RatchetError,
  type TrackConfig,
  type TrackInfo,
} from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import type { WorkerRecord } from '../store/store.ts';

export interface Placement {
  id: string;
  backend: Backend;
  hardwareClass: string;
}

/** The class of every backend the profile offers. */
export function classesOf(profile: HardwareProfile): Record<string, string> {
  return Object.fromEntries(backendsOf(profile).map((b) => [b, hardwareClassOf(profile, b)]));
}

type WorkerBackends = Pick<WorkerRecord, 'backend' | 'hardwareClass' | 'backends' | 'classes'>;

/** The worker's class on this track, or null when it has none of the track's backends. */
export function classForTrack(w: WorkerBackends, track: Pick<TrackConfig, 'backends'>): string | null {
  const offered = w.backends.length > 0 ? w.backends : [w.backend];
  const b = offered.find((x) => track.backends.includes(x as Backend));
  if (b === undefined) return null;
  return w.classes[b] ?? w.hardwareClass;
}

export function placeTracks(
  w: WorkerBackends,
  requested: readonly string[],
  tracks: readonly TrackInfo[],
): { run: Placement[]; skipped: { id: string; reason: string }[] } {
  const run: Placement[] = [];
  const skipped: { id: string; reason: string }[] = [];
  const offered = w.backends.length > 0 ? w.backends : [w.backend];
  for (const id of requested) {
    if (!tracks.some((t) => t.config.id === id))
      skipped.push({ id, reason: 'no such track on this coordinator' });
  }
  for (const t of tracks) {
    if (requested.length > 0 && !requested.includes(t.config.id)) continue;
    const cls = classForTrack(w, t.config);
    const backend = offered.find((x) => t.config.backends.includes(x as Backend));
    if (cls && backend) run.push({ id: t.config.id, backend: backend as Backend, hardwareClass: cls });
    else
      skipped.push({
        id: t.config.id,
        reason: `it runs on ${t.config.backends.join(', ')}; this worker offers ${offered.join(', ')}`,
      });
  }
  return { run, skipped };
}

/** Refuse a worker that can run none of the tracks there are (or that it asked for). */
export function assertRunsSomething(
  placed: ReturnType<typeof placeTracks>,
  requested: readonly string[],
  trackCount: number,
): void {
  if (placed.run.length > 0 || (trackCount === 0 && requested.length === 0)) return;
  const why = placed.skipped.map((s) => `${s.id}: ${s.reason}`).join('; ');
  throw new RatchetError(
    ErrorCodes.NO_MATCHING_TRACK,
    `this worker can run none of the tracks${requested.length > 0 ? ' it asked for' : ''} (${why || 'no tracks'}); start it with another --backend or on other hardware`,
  );
}

/** The class a worker runs `trackId` as (its primary class when the track is unknown). */
export async function workerClassFor(deps: Deps, w: WorkerRecord, trackId: string): Promise<string> {
  const t = await deps.store.getTrack(trackId);
  return (t && classForTrack(w, t.config)) ?? w.hardwareClass;
}
