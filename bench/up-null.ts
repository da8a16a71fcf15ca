/**
 * A track on which no change can help: a copy of a track whose constants are all fixed, plus
 * constants that nothing reads. The mutation search can only edit those, so every candidate
 * trains exactly like its baseline (other seeds): a merge there is a false accept.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DEF = /^([A-Z][A-Z0-9_]*\s*=\s*[-+]?[\d.][\d_.eE+-]*)(\s*#.*)?$/;

export async function nullTrack(from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true });
  const conf = JSON.parse(await readFile(join(to, 'ratchet.json'), 'utf8')) as {
    id: string;
    editable: string[];
  };
  conf.id = `${conf.id}-null`;
  await writeFile(join(to, 'ratchet.json'), JSON.stringify(conf, null, 2));
  const file = join(to, conf.editable[0]!);
  const lines = (await readFile(file, 'utf8')).split('\n').map((l) => {
    const m = DEF.exec(l);
    if (!m || /#.*\bfixed\b/i.test(m[2] ?? '')) return l;
    return m[2] ? `${l} (fixed)` : `${l}  # fixed`;
  });
  const at = lines.findIndex((l) => DEF.test(l));
  lines.splice(
    at,
    0,
    // Eight, so that the search (which never tries one edit twice on a head) has some sixty
    // null patches to try before it runs out: with three it ran out after 13, in 11 minutes.
    '# Read by nothing: the only constants a search may edit on this track.',
    'UNUSED_RATE = 0.003',
    'UNUSED_SCALE = 0.5',
    'UNUSED_WIDTH = 64',
    'UNUSED_DECAY = 0.1',
    'UNUSED_MOMENTUM = 0.9',
    'UNUSED_STEPS = 100',
    'UNUSED_RATIO = 0.25',
    'UNUSED_FRACTION = 0.05',
    '',
  );
  await writeFile(file, lines.join('\n'));
  return to;
}
