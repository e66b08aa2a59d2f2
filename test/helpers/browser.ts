/**
 * Headless Chromium for the browser tests (login page, demo dashboard): Debian's `chromium`
 * package driven by playwright-core, no downloaded browsers. scripts/ensure-chromium.sh installs
 * it when missing; TRIBUTARY_CHROMIUM overrides the path.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');

let cachedPath: string | undefined;

/** The Chromium executable (installing it through scripts/ensure-chromium.sh if needed). */
export function chromiumPath(): string {
  if (cachedPath) return cachedPath;
  const out = execFileSync('bash', [resolve(ROOT, 'scripts/ensure-chromium.sh')], { encoding: 'utf8' });
  cachedPath = out.trim().split('\n').pop()!;
  return cachedPath;
}

/** A headless browser; close it in an after() hook. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // The sandbox needs user namespaces, which containers often lack; the pages tested are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
