/** The read-only token `ratchet up` puts in the dashboard URL: kept in the data dir, reused on restart. */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Auth } from '@ratchet/coordinator';

export async function viewerToken(auth: Auth, dataDir: string, now: number): Promise<string> {
  const file = join(dataDir, 'viewer.token');
  const old = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (old && (await auth.resolve(old))?.role === 'viewer') return old;
  const token = await auth.create('viewer', 'dashboard', false, now);
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

/** The token travels in the fragment, which browsers never send to the server (nor log). */
export function dashboardUrl(apiUrl: string, token: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/#token=${encodeURIComponent(token)}`;
}
