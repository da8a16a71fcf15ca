/** Tracks: add (admin), list, read, and a file of a track at a commit. */
import { AddTrackInput, CommitSha, ErrorCodes, RatchetError, TrackId } from '@ratchet/shared';
import { z } from 'zod';
import { readableTrackFiles } from '../../tracks/track-program.ts';
import { addTrack } from '../../tracks/tracks.ts';
import { authedProcedure, roleProcedure, router } from '../trpc.ts';

const admin = roleProcedure('admin');

export const tracksRouter = router({
  add: admin.input(AddTrackInput).mutation(({ ctx, input }) => addTrack(ctx.deps, input.files)),
  list: authedProcedure.query(({ ctx }) => ctx.deps.store.listTracks()),
  get: authedProcedure
    .input(z.object({ id: TrackId }))
    .query(({ ctx, input }) => ctx.deps.store.requireTrack(input.id)),
  /** A file of the track at a commit (the editable and pinned files, ratchet.json). */
  file: authedProcedure
    .input(z.object({ id: TrackId, commit: CommitSha, path: z.string().min(1).max(300) }))
    .query(async ({ ctx, input }) => {
      const t = await ctx.deps.store.requireTrack(input.id);
      if (!readableTrackFiles(t).includes(input.path)) {
        throw new RatchetError(ErrorCodes.BAD_INPUT, `${input.path} is not a file of track ${input.id}`);
      }
      return { content: await ctx.deps.frontier.readFile(input.commit, input.path) };
    }),
});
