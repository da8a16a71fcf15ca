/** The coordinator listens with a large accept backlog (read back from the kernel with ss). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { startCoordinator, type TestCoordinator } from './support/harness.ts';

let t: TestCoordinator | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

it('asks the kernel for as large an accept backlog as it allows (Node defaults to 511)', async () => {
  t = await startCoordinator();
  const port = new URL(t.url).port;
  // For a listening socket, ss reports the accept backlog as Send-Q.
  const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  const sendQ = Number(out.trim().split(/\s+/)[2]);
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  expect(sendQ).toBe(Math.min(65_535, somaxconn));
  expect(sendQ).toBeGreaterThan(511);
});
