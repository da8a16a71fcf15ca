/**
 * The dashboard in a real Chromium against a real coordinator (Redis, git, BullMQ) and a
 * real worker running the stand-in's Python: a wrong token is refused, the frontier chart
 * holds exactly the measured experiments, a new result appears without a reload, and a
 * discarded proposal shows its diff and its reason. Screenshots go to RATCHET_SCREENSHOTS
 * when set.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINAL_PROPOSAL_STATUSES, type FrontierSeries, type Proposal } from '@ratchet/shared';
import { createClient, errorCode } from '@ratchet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import {
  qualityPatch,
  startAgent,
  startCoordinator,
  type TestCoordinator,
  waitFor,
} from './support/harness.ts';
import { spawnCli } from './support/procs.ts';
import { bonusPatch } from './support/sim-worker.ts';

let t: TestCoordinator;
let agent: Awaited<ReturnType<typeof startAgent>>;
let browser: TestBrowser;
let viewerToken: string;
let kept: Proposal;
let discarded: Proposal;
const shots = process.env.RATCHET_SCREENSHOTS ?? null;

async function final(id: string): Promise<Proposal> {
  return waitFor(
    async () => {
      const p = await t.admin.proposals.get.query({ id });
      return FINAL_PROPOSAL_STATUSES.includes(p.status) ? p : null;
    },
    120_000,
    `proposal ${id}`,
  );
}

beforeAll(async () => {
  t = await startCoordinator();
  viewerToken = (await t.admin.tokens.create.mutate({ role: 'viewer', name: 'wall' })).token;
  const workerToken = (await t.admin.tokens.create.mutate({ role: 'worker', name: 'w', trusted: true }))
    .token;
  agent = await startAgent(t.url, workerToken, { name: 'py-1' });
  const better = await t.admin.proposals.submit.mutate({
    track: 'standin',
    patch: qualityPatch('1.000000', '0.900000'),
    description: 'better quality',
    proposer: 'alice',
    strategy: 'by-hand',
  });
  const worse = await t.admin.proposals.submit.mutate({
    track: 'standin',
    patch: bonusPatch('-0.100000'),
    description: 'worse quality',
    proposer: 'bob',
    strategy: 'by-hand',
  });
  [kept, discarded] = await Promise.all([final(better.proposal.id), final(worse.proposal.id)]);
  browser = await launchBrowser();
  if (shots) await mkdir(shots, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await t?.close();
});

describe('the dashboard', () => {
  it('refuses a wrong token, on the page and on the API', async () => {
    const res = await fetch(`${t.url}/api/dashboard/snapshot`, {
      headers: { authorization: 'Bearer rt_nope' },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATCHET_E_UNAUTHENTICATED');
    expect((await fetch(`${t.url}/api/dashboard/events`)).status).toBe(401);

    const detail = (id: string) =>
      fetch(`${t.url}/api/dashboard/experiments/${id}`, {
        headers: { authorization: `Bearer ${viewerToken}` },
      });
    expect((await detail('no%20such')).status).toBe(400);
    const missing = await detail('exp_missing000');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'RATCHET_E_EXPERIMENT_UNKNOWN',
    );
    // A revoked token is refused with its own code.
    const gone = (await t.admin.tokens.create.mutate({ role: 'viewer', name: 'gone-soon' })).token;
    await t.admin.tokens.revoke.mutate({ idOrName: 'gone-soon' });
    const revoked = await fetch(`${t.url}/api/dashboard/snapshot`, {
      headers: { authorization: `Bearer ${gone}` },
    });
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe(
      'RATCHET_E_TOKEN_REVOKED',
    );
    // A viewer token reads, and nothing more.
    const viewer = createClient(t.url, viewerToken);
    expect((await viewer.tracks.list.query()).map((x) => x.config.id)).toEqual(['standin']);
    const refused = await viewer.proposals.submit
      .mutate({ track: 'standin', patch: bonusPatch('0.000001'), description: 'viewer' })
      .catch((e) => errorCode(e));
    expect(refused).toBe('RATCHET_E_FORBIDDEN');

    const page = await browser.context.newPage();
    await page.goto(`${t.url}/#token=rt_viewer_wrong`);
    await page.locator('#token-refused').waitFor({ timeout: 15_000 });
    expect(await page.locator('#token-refused').textContent()).toContain('RATCHET_E_UNAUTHENTICATED');
    expect(await page.locator('#workers').textContent()).toBe('');
    // The fragment is dropped from the address bar once read.
    expect(page.url()).toBe(`${t.url}/`);
    await page.fill('#token-input', viewerToken);
    await page.click('#token-form button');
    await page.locator('#conn.live').waitFor({ timeout: 15_000 });
    if (shots) await page.screenshot({ path: join(shots, 'token-accepted.png') });
    await page.close();
  });

  it('draws every measured experiment of the class, the kept one and the merge', async () => {
    expect(kept.status).toBe('merged');
    expect(discarded.status).toBe('discarded');
    const page = await browser.context.newPage();
    const events = page.waitForResponse((r) => r.url().endsWith('/api/dashboard/events'));
    await page.goto(`${t.url}/#token=${viewerToken}`);
    // The stream is compressed for the browser, and still live (below).
    expect((await events).headers()['content-encoding']).toBe('gzip');
    await page.locator('figure.chart[data-track="standin"]').waitFor({ timeout: 15_000 });
    const series = (await page.evaluate('window.ratchetDashboard.chartSeries()')) as FrontierSeries[];
    expect(series).toHaveLength(1);
    const s = series[0]!;
    const measured = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
      (e) => e.metrics && e.recordedAt !== null && e.hardwareClass === s.hardwareClass,
    );
    expect(s.points.map((p) => p.id).sort()).toEqual(measured.map((e) => e.id).sort());
    for (const e of measured) {
      const p = s.points.find((x) => x.id === e.id)!;
      expect(p.valBpb).toBe(e.metrics!.val_bpb);
      const kind = e.verdict === 'keep' ? 'kept' : e.verdict === 'baseline' ? 'baseline' : 'discarded';
      expect(p.kind).toBe(kind);
    }
    expect(s.points.some((p) => p.kind === 'kept' && p.valBpb === 0.9)).toBe(true);
    const worse = s.points.find((p) => p.id === discarded.experimentIds[0]);
    expect(worse?.kind).toBe('discarded');
    expect(worse?.description).toBe('worse quality');
    expect(s.merges.map((m) => m.commit)).toEqual([kept.mergedCommit]);
    expect(s.best[s.best.length - 1]).toBe(0.9);
    const fig = page.locator('figure.chart[data-track="standin"]');
    expect(await fig.getAttribute('data-points')).toBe(String(measured.length));
    expect(await fig.locator('canvas').count()).toBeGreaterThan(0);
    // The merged gain's row in the portability matrix, measured on the class that found it.
    const matrix = page.locator('#portability [data-track="standin"]');
    await matrix.waitFor({ timeout: 15_000 });
    expect(await matrix.textContent()).toContain(kept.mergedCommit!.slice(0, 7));
    if (shots) await page.screenshot({ path: join(shots, 'desktop.png'), fullPage: true });
    // Nothing but the coordinator was asked for anything.
    expect(browser.requests.filter((u) => !u.startsWith(t.url) && !u.startsWith('data:'))).toEqual([]);
    await page.close();
  });

  it('shows the diff and the reason of a discarded proposal', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${t.url}/#token=${viewerToken}`);
    const row = page.locator('tr[data-exp]', { hasText: 'worse quality' }).first();
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-verdict')).toBe('discarded');
    await row.click();
    await page.locator('#detail-diff').waitFor({ timeout: 10_000 });
    expect(await page.locator('#detail-diff').textContent()).toContain('+BONUS = -0.100000');
    const reason = (await page.locator('#detail-reason').textContent()) ?? '';
    const exp = await t.admin.experiments.get.query({ id: discarded.experimentIds[0]! });
    expect(exp.verdictReason).toBeTruthy();
    expect(reason).toBe(exp.verdictReason);
    expect(await page.locator('#detail-log').textContent()).toContain('val_bpb:');
    if (shots) await page.screenshot({ path: join(shots, 'discarded-detail.png'), fullPage: true });
    await page.close();
  });

  it('shows a new result live, without a reload, also on a phone-sized screen', async () => {
    const phone = await launchBrowser({ width: 390, height: 844 });
    try {
      const page = await phone.context.newPage();
      await page.goto(`${t.url}/#token=${viewerToken}`);
      const fig = page.locator('figure.chart[data-track="standin"]');
      await fig.waitFor({ timeout: 15_000 });
      const before = Number(await fig.getAttribute('data-points'));
      await page.evaluate('window.__sameDocument = true');
      const p = await t.admin.proposals.submit.mutate({
        track: 'standin',
        patch: qualityPatch('0.900000', '0.950000'),
        description: 'live one',
        proposer: 'carol',
      });
      await page.locator('tr[data-exp]', { hasText: 'live one' }).first().waitFor({ timeout: 30_000 });
      await final(p.proposal.id);
      await page.waitForFunction(
        `Number(document.querySelector('figure.chart')?.getAttribute('data-points')) > ${before}`,
        undefined,
        { timeout: 15_000 },
      );
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      const width = await page.evaluate('document.documentElement.scrollWidth');
      expect(width).toBeLessThanOrEqual(390);
      if (shots) await page.screenshot({ path: join(shots, 'phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('prints the status as aligned tables, and refuses a wrong token', async () => {
    const ok = spawnCli(['status', '--coordinator', t.url, '--token', viewerToken]);
    expect(await ok.exit(60_000)).toBe(0);
    const out = ok.output();
    expect(out).toMatch(/^ {2}track\s+head\s+budget_s\s+class\s+best\s+measured\s+kept\s+merged$/m);
    expect(out).toMatch(
      new RegExp(
        `^ {2}standin\\s+${kept.mergedCommit!.slice(0, 7)}|^ {2}standin\\s+[0-9a-f]{7}\\s+1\\s+\\S+\\s+0\\.900000`,
        'm',
      ),
    );
    expect(out).toMatch(/^ {2}py-1\s+\S+\s+(leasing|preparing|running|idle)\s/m);
    expect(out).toMatch(/^ {2}standin\s+by-hand\s+alice\s+1\s+1\s+1\s+1\s+0\.100000/m);
    const bad = spawnCli(['status', '--coordinator', t.url, '--token', 'rt_viewer_wrong']);
    expect(await bad.exit(60_000)).toBe(2);
    expect(bad.output()).toContain('RATCHET_E_UNAUTHENTICATED');
  });

  it("writes upstream's progress picture of a track as PNG and SVG", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-plot-'));
    try {
      const svgRun = spawnCli([
        'plot',
        '--coordinator',
        t.url,
        '--token',
        viewerToken,
        '--track',
        'standin',
        '-o',
        join(dir, 'p.svg'),
      ]);
      expect(await svgRun.exit(60_000)).toBe(0);
      const svg = await readFile(join(dir, 'p.svg'), 'utf8');
      const measured = (await t.admin.experiments.list.query({ track: 'standin' })).filter(
        (e) => e.metrics && e.recordedAt !== null,
      );
      const circles = (kind: string) => svg.split(`<circle class="${kind}"`).length - 1;
      expect(circles('kept') + circles('baseline') + circles('discarded')).toBe(measured.length);
      expect(circles('kept')).toBe(measured.filter((e) => e.verdict === 'keep').length);
      expect(svg).toContain('better quality');

      const pngRun = spawnCli([
        'plot',
        '--coordinator',
        t.url,
        '--token',
        viewerToken,
        '--track',
        'standin',
        '-o',
        join(dir, 'progress.png'),
      ]);
      expect(await pngRun.exit(90_000)).toBe(0);
      const png = await readFile(join(dir, 'progress.png'));
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([2400, 1200]);
      if (shots) await copyFile(join(dir, 'progress.png'), join(shots, 'progress.png'));

      const unknown = spawnCli([
        'plot',
        '--coordinator',
        t.url,
        '--token',
        viewerToken,
        '--track',
        'nope',
        '-o',
        join(dir, 'x.png'),
      ]);
      expect(await unknown.exit(60_000)).toBe(2);
      expect(unknown.output()).toContain('RATCHET_E_TRACK_UNKNOWN');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
