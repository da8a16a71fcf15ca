/** Rasterise an SVG with the machine's Chromium (the one the browser tests drive). */
import { existsSync } from 'node:fs';
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { chromium } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/snap/bin/chromium',
];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const found = [env.RATCHET_CHROMIUM, ...CANDIDATES].find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new RatchetError(
      ErrorCodes.BAD_INPUT,
      'no Chromium found for the PNG (apt-get install chromium, or set RATCHET_CHROMIUM); -o FILE.svg needs none',
    );
  }
  return found;
}

export async function svgToPng(svg: string, width: number, height: number, scale = 1.5): Promise<Buffer> {
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: scale });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    return await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width, height } });
  } finally {
    await browser.close();
  }
}
