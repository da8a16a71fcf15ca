/** Track data from the coordinator (`/data/<name>`), cached per machine and checked by SHA-256. */
import { createHash } from 'node:crypto';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function ensureData(opts: {
  coordinatorUrl: string;
  token: string;
  names: readonly string[];
  dir: string;
}) {
  await mkdir(opts.dir, { recursive: true });
  for (const name of opts.names) {
    const path = join(opts.dir, name);
    try {
      await access(path);
      continue;
    } catch {
      // not cached yet
    }
    const res = await fetch(`${opts.coordinatorUrl.replace(/\/+$/, '')}/data/${encodeURIComponent(name)}`, {
      headers: { authorization: `Bearer ${opts.token}` },
    });
    if (!res.ok) throw new Error(`GET /data/${name}: HTTP ${res.status}`);
    const buf = Buffer.from(await res.arrayBuffer());
    const want = res.headers.get('x-ratchet-sha256');
    const got = createHash('sha256').update(buf).digest('hex');
    if (want && want !== got) throw new Error(`data ${name}: checksum mismatch`);
    await writeFile(`${path}.tmp`, buf);
    await rename(`${path}.tmp`, path);
  }
}
