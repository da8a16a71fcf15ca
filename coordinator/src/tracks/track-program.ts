/** A track's research program (`program.md` unless ratchet.json names another file): what proposers read. */
import type { TrackInfo } from '@ratchet/shared';
import type { Frontier } from '../frontier/repo.ts';

/** The program at the track's head, or null when the track carries none. */
export async function readTrackProgram(frontier: Frontier, track: TrackInfo): Promise<string | null> {
  return frontier.readFile(track.head, track.config.program ?? 'program.md').catch(() => null);
}

/** Files of a track that the API hands out: editable, pinned, ratchet.json and the program. */
export function readableTrackFiles(track: TrackInfo): string[] {
  return [
    ...track.config.editable,
    ...track.config.pinned,
    'ratchet.json',
    track.config.program ?? 'program.md',
  ];
}
