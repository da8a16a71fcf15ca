/**
 * The page's script and styles, built from `coordinator/web/src` with esbuild when first
 * asked for (about 100 ms) and kept in memory, with a gzip copy. Nothing to build before
 * `ratchet up` or in CI, and nothing committed that could drift from its sources.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { build } from 'esbuild';

/** `coordinator/web`, from this file's place in the sources or in the compiled dist/ beside them. */
export const WEB_DIR =
  [
    resolve(import.meta.dirname, '..', '..', 'web'),
    resolve(import.meta.dirname, '..', 'coordinator', 'web'),
  ].find((d) => existsSync(resolve(d, 'src', 'main.ts'))) ?? resolve(import.meta.dirname, '..', '..', 'web');

export interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

function asset(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzip: gzipSync(body, { level: 9 }), type, etag };
}

/** `app.js` and `app.css`, minified. */
export async function buildBundle(webDir = WEB_DIR): Promise<Map<string, Asset>> {
  try {
    const r = await build({
      entryPoints: [resolve(webDir, 'src', 'main.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['es2022'],
      outdir: '/out',
      entryNames: 'app',
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
    const out = new Map<string, Asset>();
    for (const f of r.outputFiles) {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1);
      const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
      out.set(name, asset(Buffer.from(f.contents), type));
    }
    return out;
  } catch (e) {
    throw new RatchetError(ErrorCodes.INTERNAL, `building the dashboard failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

export function lazyBundle(webDir = WEB_DIR) {
  let p: Promise<Map<string, Asset>> | null = null;
  return () => {
    p ??= buildBundle(webDir).catch((e) => {
      p = null;
      throw e;
    });
    return p;
  };
}
