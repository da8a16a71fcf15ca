import { ErrorCodes, type HardwareProfile, type TrackInfo } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { assertRunsSomething, classesOf, classForTrack, placeTracks } from './worker-backends.ts';

const mac: HardwareProfile = {
  backend: 'mps',
  backends: ['mps', 'mlx'],
  os: 'darwin',
  arch: 'arm64',
  cpuModel: 'Apple M4 Max',
  cpuCores: 16,
  memoryGb: 128,
  gpus: [],
  chip: 'Apple M4 Max',
};
const track = (id: string, backends: TrackInfo['config']['backends']) =>
  ({ config: { id, backends } }) as unknown as TrackInfo;
const worker = (p: HardwareProfile) => {
  const classes = classesOf(p);
  return { backend: p.backend, hardwareClass: classes[p.backend]!, backends: Object.keys(classes), classes };
};

describe('which tracks a worker runs', () => {
  it('runs an MPS track and an MLX track on one Mac, each as its own class', () => {
    const w = worker(mac);
    expect(classForTrack(w, { backends: ['mps'] })).toBe('mps-m4max-128g');
    expect(classForTrack(w, { backends: ['mlx'] })).toBe('mlx-m4max-128g');
    expect(classForTrack(w, { backends: ['cuda', 'mps', 'cpu'] })).toBe('mps-m4max-128g');
    expect(classForTrack(w, { backends: ['cuda'] })).toBeNull();
  });

  it('skips tracks it cannot run and says why', () => {
    const placed = placeTracks(worker(mac), [], [track('mlx-fork', ['mlx']), track('win-rtx', ['cuda'])]);
    expect(placed.run).toEqual([{ id: 'mlx-fork', backend: 'mlx', hardwareClass: 'mlx-m4max-128g' }]);
    expect(placed.skipped).toEqual([
      { id: 'win-rtx', reason: 'it runs on cuda; this worker offers mps, mlx' },
    ]);
  });

  it('refuses a worker that can run none of the tracks', () => {
    const placed = placeTracks(worker(mac), [], [track('win-rtx', ['cuda'])]);
    expect(() => assertRunsSomething(placed, [], 1)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.NO_MATCHING_TRACK,
        message: expect.stringContaining('win-rtx: it runs on cuda'),
      }),
    );
    // No tracks yet: it waits for one.
    expect(() => assertRunsSomething(placeTracks(worker(mac), [], []), [], 0)).not.toThrow();
    // Asked for a track that does not exist.
    const asked = placeTracks(worker(mac), ['nope'], [track('mlx-fork', ['mlx'])]);
    expect(() => assertRunsSomething(asked, ['nope'], 1)).toThrow(/nope: no such track/);
  });

  it('keeps working for workers registered before backends were recorded', () => {
    const old = { backend: 'cpu', hardwareClass: 'cpu-x64-epyc-2c', backends: [], classes: {} };
    expect(classForTrack(old, { backends: ['cpu'] })).toBe('cpu-x64-epyc-2c');
    expect(classForTrack(old, { backends: ['cuda'] })).toBeNull();
  });
});
