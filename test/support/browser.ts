// Debian's chromium, driven by playwright-core through its executable path:
// nothing downloads a browser. Where it is not installed the browser tests
// skip and say so, unless CI=true or REQUIRE_CHROMIUM=1, where they fail.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));

export const CHROMIUM = CANDIDATES.find((p) => existsSync(p)) ?? null;
const REQUIRED = process.env.CI === 'true' || process.env.REQUIRE_CHROMIUM === '1';

/** Options for test(): skip with a reason when chromium is missing and not required. */
export const needsChromium = {
  skip: CHROMIUM === null && !REQUIRED ? 'chromium is not installed (bash scripts/install-chromium.sh); CI=true makes this fail' : false,
};

export function launchChromium(): Promise<Browser> {
  if (CHROMIUM === null) throw new Error('chromium is not installed: bash scripts/install-chromium.sh (or set CHROMIUM_PATH)');
  // --no-sandbox: CI containers run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}
