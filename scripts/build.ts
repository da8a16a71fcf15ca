/**
 * Compiles the CLI (coordinator, worker, everything `ratchet` runs) to plain ESM JavaScript
 * in dist/, so that production runs `node dist/main.js` without a TypeScript loader: an idle
 * worker agent then holds about a third less memory. The coordinator's modules sit in their
 * own chunk, loaded only by `ratchet coordinator`.
 *   node --import tsx scripts/build.ts [outdir]
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { nodeBundle } from './node-bundle.ts';

const root = join(import.meta.dirname, '..');
const outdir = process.argv[2] ?? join(root, 'dist');
await build({ ...nodeBundle([join(root, 'cli/src/main.ts')], outdir), splitting: true });
process.stdout.write(`built ${join(outdir, 'main.js')}\n`);
