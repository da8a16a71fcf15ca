/**
 * Writes deploy/grafana/dashboards/*.json from dashboards.ts (`pnpm run dashboards`).
 * `--check` writes nothing and exits 1 when a checked-in file differs from what it would write.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dashboards } from './dashboards.ts';

export const DASHBOARD_DIR = join(import.meta.dirname, '..', 'dashboards');

export function render(d: unknown): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Names of the dashboard files whose checked-in JSON differs from the generated one. */
export async function drifted(): Promise<string[]> {
  const out: string[] = [];
  for (const [file, d] of Object.entries(dashboards())) {
    const current = await readFile(join(DASHBOARD_DIR, file), 'utf8').catch(() => null);
    if (current !== render(d)) out.push(file);
  }
  return out;
}

async function main() {
  if (process.argv.includes('--check')) {
    const bad = await drifted();
    if (bad.length > 0) {
      console.error(`out of date: ${bad.join(', ')} (run: pnpm run dashboards)`);
      process.exit(1);
    }
    return;
  }
  for (const [file, d] of Object.entries(dashboards())) {
    await writeFile(join(DASHBOARD_DIR, file), render(d));
    console.log(`wrote ${join(DASHBOARD_DIR, file)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
