// Headless Chromium for the page tests: Debian's `chromium` package driven by playwright-core
// (no browser download). Every run gets a fresh profile and no background traffic.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** The browser binary (PRMKIT_CHROMIUM overrides Debian's path). */
export const chromiumPath = process.env.PRMKIT_CHROMIUM ?? '/usr/bin/chromium';

function resolves(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

const hasBinary = existsSync(chromiumPath);
const hasDriver = resolves('playwright-core');
export const hasBrowser = hasBinary && hasDriver;
export const NO_BROWSER = !hasBinary
  ? `no Chromium at ${chromiumPath} (apt-get install -y chromium, or set PRMKIT_CHROMIUM)`
  : 'playwright-core is not installed (npm install)';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh user-data-dir, removed on close. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'prmkit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: ARGS });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
