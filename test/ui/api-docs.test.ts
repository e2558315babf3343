/**
 * /api/v1/docs in real Chromium: the page renders the generated OpenAPI document offline (no
 * request leaves the page, its CSP allows only its own script and style), lists every
 * operation by tag with its operationId, and links a response's named schema to its definition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, launchChromium, newContext, shoot } from './browser.ts';

const skip = browserUnavailable();

describe('API docs page', { skip }, () => {
  let server: StartedServer;
  let browser: Browser;

  before(async () => {
    server = await startWharf();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('renders every operation of the document, self-contained', async () => {
    const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
    const ids = Object.values(doc.paths).flatMap((m) => Object.values(m).map((op) => op.operationId));
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('request', (r) => requests.push(r.url()));
    const res = await page.goto('/api/v1/docs');
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    await page.locator('details.op').first().waitFor();
    assert.equal(await page.locator('details.op').count(), ids.length);
    for (const id of ['getPackageView', 'startGc', 'signIn']) assert.equal(await page.locator(`details#${id}`).count(), 1, id);

    // A response's named schema links to its definition.
    await page.locator('details#getPackageView > summary').click();
    await page.locator('details#getPackageView a[href="#schema-PackageView"]').click();
    assert.ok(await page.locator('#schema-PackageView').isVisible());
    await shoot(page, 'api-docs');
    assert.deepEqual(problems, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith(`${server.url}/api/v1/docs`)), [], 'the page loads nothing else');
    await ctx.close();
  });
});
