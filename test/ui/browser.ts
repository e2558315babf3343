/**
 * Browser tests drive Debian's chromium (/usr/bin/chromium, never a downloaded browser) through
 * playwright-core against a started Wharf. Screenshots of every page go to
 * test-output/screenshots/ at desktop (1280×800) and phone (390×844) widths.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(repoRoot, 'test-output', 'screenshots');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** For node:test's `skip`: why the browser tests cannot run here, or false. */
export function browserUnavailable(): string | false {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found: apt-get install -y chromium (or bash scripts/install-test-deps.sh)`;
  return false;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  });
}

export async function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({ baseURL, viewport: DESKTOP, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  ctx.setDefaultTimeout(15_000);
  return ctx;
}

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds ui/dist when it is missing or older than the UI sources (so the test sees this code). */
export function ensureUiBuilt(): void {
  const index = join(repoRoot, 'ui', 'dist', 'index.html');
  const sources = Math.max(newest(join(repoRoot, 'ui', 'src')), statSync(join(repoRoot, 'ui', 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:ui'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:ui failed:\n${r.stdout}\n${r.stderr}`);
}

/** Screenshots (full page unless told otherwise, e.g. for a modal) at desktop and phone width: `<name>-desktop.png`, `<name>-phone.png`. */
export async function shoot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string[]> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const files: string[] = [];
  const original = page.viewportSize() ?? DESKTOP;
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150);
    const file = join(SCREENSHOTS, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: opts.fullPage ?? true, animations: 'disabled' });
    files.push(file);
  }
  await page.setViewportSize(original);
  return files;
}

/** Nothing on the page is wider than the viewport (readable at phone width without sideways scrolling of the page). */
export async function horizontalOverflow(page: Page): Promise<number> {
  // A string, evaluated in the page: the test code itself is typed without the DOM library.
  return Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
}

/** Form controls without an accessible name (a <label>, aria-label or aria-labelledby), by id or name. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  const found = await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.id || el.name || el.outerHTML.slice(0, 80))`);
  return Array.isArray(found) ? found.map(String) : [];
}

let axeSource: string | null = null;

/**
 * axe-core's serious and critical findings on the page as it is now, one line each (rule, impact,
 * the first offending elements). The script is evaluated through the DevTools protocol, which
 * the page's Content-Security-Policy (scripts from our origin only) does not govern.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axeSource);
  const found = await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')))`);
  return Array.isArray(found) ? found.map(String) : [];
}

/** What one page check found: overflow at phone width and accessibility at both widths. */
export interface PageProblems {
  overflow: string[];
  a11y: string[];
  screenshots: string[];
}

/**
 * The quality bar of every page: screenshots at desktop and phone width, no horizontal overflow
 * (document scrollWidth within the viewport) and no serious or critical axe finding at either
 * width. Problems are collected into `into`, so one test run reports them all.
 */
export async function checkPage(page: Page, name: string, into: PageProblems, opts: { fullPage?: boolean } = {}): Promise<void> {
  into.screenshots.push(...(await shoot(page, name, opts)));
  const original = page.viewportSize() ?? DESKTOP;
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.waitForTimeout(100);
    const extra = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
    if (extra > 1) into.overflow.push(`${name} (${label}): ${extra}px wider than the viewport`);
    for (const v of await axeViolations(page)) into.a11y.push(`${name} (${label}): ${v}`);
  }
  await page.setViewportSize(original);
}
