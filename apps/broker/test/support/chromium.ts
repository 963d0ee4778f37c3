// Debian's headless Chromium for the browser tests (playwright-core drives it; no browser download).
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests skip here; under CI=true a missing Chromium is a failure instead. */
export function chromiumSkipReason(what: string): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI === 'true')
    throw new Error(`${CHROMIUM} is required for the ${what} in CI (Debian package "chromium")`);
  return `(skipped: ${CHROMIUM} is missing; install it with "apt-get install chromium")`;
}

/** Without the background-networking flags this machine refuses Chromium's connections. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(
  profileDir: string,
  options: Parameters<typeof chromium.launchPersistentContext>[1] & { extraArgs?: string[] } = {},
): Promise<BrowserContext> {
  const { extraArgs = [], ...rest } = options;
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    ...rest,
  });
}
