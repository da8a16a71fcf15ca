/** Importing tracks: validate ratchet.json, record pinned hashes, create `tracks/<id>`. */
import { createHash } from 'node:crypto';
import { ErrorCodes, RatchetError, TrackConfig, type TrackInfo } from '@ratchet/shared';
import type { Deps } from '../deps.ts';
import { branchOf } from '../frontier/repo.ts';

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function parseTrackFiles(files: Record<string, string>): TrackConfig {
  const raw = files['ratchet.json'];
  if (raw === undefined) throw new RatchetError(ErrorCodes.TRACK_INVALID, 'the track has no ratchet.json');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new RatchetError(ErrorCodes.TRACK_INVALID, `ratchet.json is not JSON: ${(e as Error).message}`);
  }
  const parsed = TrackConfig.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new RatchetError(ErrorCodes.TRACK_INVALID, `ratchet.json: ${problems}`);
  }
  const cfg = parsed.data;
  for (const f of [...cfg.editable, ...cfg.pinned]) {
    if (files[f] === undefined)
      throw new RatchetError(ErrorCodes.TRACK_INVALID, `${f} is listed but missing`);
  }
  for (const name of Object.keys(files)) {
    if (name.startsWith('/') || name.split('/').some((s) => s === '..' || s === '.git' || s === '')) {
      throw new RatchetError(ErrorCodes.TRACK_INVALID, `bad file name ${name}`);
    }
  }
  return cfg;
}

export async function addTrack(deps: Deps, files: Record<string, string>): Promise<TrackInfo> {
  const cfg = parseTrackFiles(files);
  deps.trackData.assertKnown(cfg.data);
  if (await deps.store.getTrack(cfg.id)) {
    throw new RatchetError(ErrorCodes.TRACK_EXISTS, `track ${cfg.id} already exists`);
  }
  const pinnedHashes = Object.fromEntries(cfg.pinned.map((f) => [f, sha256(files[f]!)]));
  const prepareHash = sha256(JSON.stringify({ prepare: cfg.prepare, data: cfg.data, pinnedHashes }));
  const head = await deps.frontier.importTrack(cfg.id, files, `Import track ${cfg.id}`);
  const info: TrackInfo = { config: cfg, head, branch: branchOf(cfg.id), pinnedHashes, prepareHash };
  await deps.store.putTrack(info);
  return info;
}
