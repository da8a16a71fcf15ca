/**
 * `ratchet track init DIR` — recognise an autoresearch checkout and write its ratchet.json
 * (DIR/ratchet.json, a new file; `--out FILE` writes it elsewhere; the checkout's own files
 * are never changed). `ratchet track add DIR|GIT-URL[#REF]` — import a track into a
 * coordinator: its ratchet.json (`--config FILE`, DIR/ratchet.json, or recognised on the
 * fly), editable and pinned files and program.md.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type Detection,
  detectTrack,
  ErrorCodes,
  isRatchetError,
  RatchetError,
  TrackConfig,
  type TrackOrigin,
} from '@ratchet/shared';
import { parse, required } from '../args.ts';
import { clientFrom, remoteOptions } from '../remote.ts';
import {
  cloneSource,
  collectTrackFiles,
  localOrigin,
  parseGitSource,
  readSnapshot,
} from '../track/source.ts';

function describe(d: Detection): string {
  const c = d.config;
  const runs = Object.entries(c.run)
    .filter(([k]) => k !== 'default')
    .map(([k, v]) => `${k}: ${(v as string[]).join(' ')}`);
  const lines = [
    `recognised ${d.shape.upstream} (${d.shape.hardware}): ${d.evidence.join('; ')}`,
    `  id:       ${c.id}`,
    `  editable: ${c.editable.join(', ')}`,
    `  pinned:   ${c.pinned.join(', ')}`,
    ...(c.sync
      ? [`  sync:     ${c.sync.argv.join(' ')} (once per machine and ${c.sync.lockfile} hash)`]
      : []),
    `  prepare:  ${c.prepare?.join(' ') ?? '-'}`,
    `  run:      ${c.run.default.join(' ')}${runs.length > 0 ? ` (${runs.join('; ')})` : ''}`,
    `  budget:   ${c.budgetS} s, killed after ${c.hardTimeoutS} s; backends: ${c.backends.join(', ')}`,
    `  program:  ${c.program}`,
    ...d.warnings.map((w) => `warning: ${w}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Detect, printing the template to stdout when the layout is unknown. */
async function detectIn(
  dir: string,
  o: { id?: string | undefined; shape?: string | undefined; origin?: Omit<TrackOrigin, 'shape'> },
) {
  const snapshot = await readSnapshot(dir);
  try {
    return detectTrack(snapshot, {
      ...(o.id ? { id: o.id } : {}),
      ...(o.shape ? { shape: o.shape } : {}),
      ...(o.origin ? { origin: o.origin } : {}),
    });
  } catch (e) {
    if (isRatchetError(e) && e.code === ErrorCodes.TRACK_UNRECOGNISED) {
      process.stdout.write(`${JSON.stringify(e.details?.template, null, 2)}\n`);
    }
    throw e;
  }
}

export async function trackInitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string' },
    id: { type: 'string' },
    shape: { type: 'string' },
    force: { type: 'boolean', default: false },
  });
  const dir = resolve(required(positionals[0], 'DIR'));
  const out = values.out ? resolve(values.out) : join(dir, 'ratchet.json');
  if (
    !values.force &&
    (await access(out)
      .then(() => true)
      .catch(() => false))
  ) {
    throw new RatchetError(
      ErrorCodes.BAD_INPUT,
      `${out} exists; pass --force to replace it or --out FILE to write elsewhere`,
    );
  }
  const d = await detectIn(dir, { id: values.id, shape: values.shape });
  process.stdout.write(describe(d));
  await writeFile(out, `${JSON.stringify(d.config, null, 2)}\n`, { flag: values.force ? 'w' : 'wx' });
  process.stdout.write(`wrote ${out}\nnext: ratchet track add ${positionals[0]}`);
  process.stdout.write(values.out ? ` --config ${values.out}\n` : '\n');
  return 0;
}

async function readConfig(file: string): Promise<TrackConfig | null> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new RatchetError(ErrorCodes.TRACK_INVALID, `${file} is not JSON: ${(e as Error).message}`);
  }
  const parsed = TrackConfig.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RatchetError(ErrorCodes.TRACK_INVALID, `${file}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export async function trackAddCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...remoteOptions,
    config: { type: 'string' },
    id: { type: 'string' },
    shape: { type: 'string' },
  });
  const source = required(positionals[0], 'DIR or GIT-URL[#REF]');
  const git = parseGitSource(source);
  const cloned = git ? await cloneSource(git.url, git.ref) : null;
  try {
    const dir = cloned ? cloned.dir : resolve(source);
    const origin =
      git && cloned ? { url: git.url, commit: cloned.commit } : ((await localOrigin(dir)) ?? undefined);
    let cfg: TrackConfig | null;
    if (values.config) {
      cfg = await readConfig(resolve(values.config));
      if (!cfg) throw new RatchetError(ErrorCodes.BAD_INPUT, `cannot read ${values.config}`);
    } else cfg = await readConfig(join(dir, 'ratchet.json'));
    if (!cfg) {
      const d = await detectIn(dir, { id: values.id, shape: values.shape, ...(origin ? { origin } : {}) });
      process.stdout.write(`${source} has no ratchet.json\n${describe(d)}`);
      cfg = d.config;
    }
    if (values.id) cfg = { ...cfg, id: values.id };
    if (origin) cfg = { ...cfg, origin: { shape: cfg.origin?.shape ?? 'custom', ...origin } };
    const checked = TrackConfig.safeParse(cfg);
    if (!checked.success) {
      const problems = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new RatchetError(ErrorCodes.TRACK_INVALID, `ratchet.json: ${problems.join('; ')}`);
    }
    const files = await collectTrackFiles(dir, checked.data);
    const info = await clientFrom(values).tracks.add.mutate({ files });
    const program = files[info.config.program] === undefined ? 'no program.md' : info.config.program;
    process.stdout.write(
      `imported track ${info.config.id} as ${info.branch} at ${info.head} (${Object.keys(files).length} files; proposers read ${program})\n`,
    );
    return 0;
  } finally {
    await cloned?.remove();
  }
}
