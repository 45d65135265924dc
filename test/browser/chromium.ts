// What the browser tests share: Debian's chromium driven by playwright-core, and a tsc build of
// this checkout's package into a directory of the test's own (served as /dist/; tests that build
// dist/ may run at the same time).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n${'!'.repeat(78)}\n!!! ${CHROMIUM} is missing: the BROWSER TESTS ARE SKIPPED (apt-get install -y chromium)\n${'!'.repeat(78)}\n`);
}

/** Compiles the package (tsc, ~2 s) into tmp/<name>; returns the directory. */
export function buildDist(name: string): string {
  const dir = join(ROOT, 'tmp', name);
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', dir], { stdio: 'inherit' });
  return dir;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
