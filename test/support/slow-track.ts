/** The stand-in track with a longer run: long enough to interrupt in the middle. */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STANDIN_TRACK } from './harness.ts';

export async function writeSlowTrack(dir: string, id: string, budgetS: number): Promise<string> {
  const track = join(dir, id);
  await cp(STANDIN_TRACK, track, { recursive: true });
  const cfg = JSON.parse(await readFile(join(track, 'ratchet.json'), 'utf8'));
  await writeFile(
    join(track, 'ratchet.json'),
    JSON.stringify({ ...cfg, id, budgetS, hardTimeoutS: budgetS * 10 }),
  );
  const train = await readFile(join(track, 'train.py'), 'utf8');
  const slow = train.replace('time.sleep(min(budget, 1.0) / STEPS)', 'time.sleep(budget / STEPS)');
  if (slow === train) throw new Error('the stand-in train.py changed: update writeSlowTrack');
  await writeFile(join(track, 'train.py'), slow);
  return track;
}
