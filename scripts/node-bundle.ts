/**
 * esbuild options that bundle a TypeScript entry point into plain ESM JavaScript for Node
 * (the compiled CLI, and the compiled coordinator the scale benches run).
 */
import type { BuildOptions } from 'esbuild';

export function nodeBundle(entryPoints: string[], outdir: string): BuildOptions {
  return {
    entryPoints,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    // Some CommonJS dependencies call require(); ESM output has none of its own.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  };
}
