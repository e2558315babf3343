/**
 * Webhooks and the audit log in the web UI, in real Chromium against a started Wharf and a local
 * receiver: an organization owner adds a webhook in the owner settings (the generated secret is
 * shown once), sends a test ping and sees it succeed in the delivery log; a chart push reaches the
 * receiver; the owner's audit page shows who pushed it, filterable, with a JSON lines export.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { verifySignature } from '../../src/services/webhooks/signature.ts';
import { fetchHttp, pushChart } from '../helpers/charts.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.ts';
import { browserUnavailable, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, shoot, unlabelledControls } from './browser.ts';

const skip = browserUnavailable();

describe('webhooks and audit in the web UI', { skip }, () => {
  let server: StartedServer;
  let browser: Browser;
  let rx: Receiver;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const password = 'alice-password-1';
  const alice = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
  let secret = '';

  const api = async (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) => {
    const res = await fetch(server.url + path, {
      method: init.method ?? 'GET',
      headers: { authorization: init.auth ?? alice, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: await res.text() };
  };

  const signIn = async (): Promise<Page> => {
    const ctx = await newContext(browser, server.url);
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    await page.goto('/-/sign-in');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/alice$/);
    return page;
  };
  const snap = async (page: Page, name: string) => {
    await shoot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) problems.push(`${name}: ${extra}px wider than a phone screen`);
    for (const c of await unlabelledControls(page)) problems.push(`${name}: unlabelled ${c}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  before(async () => {
    ensureUiBuilt();
    rx = await startReceiver();
    server = await startWharf({ env: { WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true' } });
    browser = await launchChromium();
    const admin = `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
    assert.equal((await api('/api/v1/users', { method: 'POST', body: { username: 'alice', password }, auth: admin })).status, 201);
    assert.equal((await api('/api/v1/orgs', { method: 'POST', body: { name: 'initech' } })).status, 201);
  });

  after(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await rx?.close();
  });

  test('an owner adds a webhook, sends a test ping and sees it delivered; a push reaches the receiver', async () => {
    const page = await signIn();
    await page.goto('/initech/-/settings');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByLabel('Payload URL').fill(rx.url);
    await page.getByLabel(/Tag moved/).check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const shown = page.getByText(/Its secret is shown this once/);
    await shown.waitFor();
    secret = (await shown.locator('code').textContent()) ?? '';
    assert.match(secret, /^whsec_/);
    const list = page.getByRole('list', { name: 'Webhooks' });
    await list.getByText('package.published, tag.moved').waitFor();

    await list.getByRole('button', { name: 'Send test' }).click();
    const [ping] = await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'ping');
    assert.ok(ping && verifySignature(secret, ping.body, String(ping.headers['x-wharf-signature-256'])));
    const deliveries = page.getByRole('table', { name: `Deliveries to ${rx.url}` });
    for (let i = 0; i < 20 && (await deliveries.locator('tr[data-status="succeeded"]').count()) === 0; i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(200);
    }
    await deliveries.locator('tr[data-status="succeeded"]').getByText('ping').waitFor();
    await deliveries.getByText('thanks').waitFor();
    await snap(page, 'webhooks-01-owner-settings');

    await pushChart(fetchHttp(server.url, alice), 'initech/charts/app', { name: 'app', version: '1.0.0' });
    const [pushed] = await rx.waitFor(1, (r) => r.headers['x-wharf-event'] === 'package.published');
    const payload = JSON.parse(pushed?.body ?? '{}') as { package: string; kind: string; version: string; actor: { name: string } };
    assert.deepEqual([payload.package, payload.kind, payload.version, payload.actor.name], ['initech/charts/app', 'chart', '1.0.0', 'alice']);
  });

  test("a package's settings have their own webhooks", async () => {
    const page = await signIn();
    await page.goto('/initech/charts/app/-/settings');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByLabel('Payload URL').fill(`${rx.url}?package`);
    await page.getByLabel('Secret (16 characters or more; leave empty to have one generated)').fill('package-secret-0123456789');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('list', { name: 'Webhooks' }).getByText(`${rx.url}?package`).waitFor();
    const hooks = JSON.parse((await api('/api/v1/packages/initech/charts%2Fapp/webhooks')).body) as { package: string; events: string[] }[];
    assert.deepEqual(hooks.map((h) => [h.package, h.events]), [['initech/charts/app', ['package.published']]]);
  });

  test("the owner's audit page shows who pushed each version, filtered, and exports JSON lines", async () => {
    const page = await signIn();
    await page.goto('/initech');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/initech\/-\/audit$/);
    const table = page.getByRole('table', { name: 'Audit entries' });
    await table.locator('tr[data-action="package.push"]').first().waitFor();
    await table.locator('tr[data-action="webhook.create"]').first().waitFor();
    await page.getByLabel(/^Action/).fill('package.push');
    await page.getByRole('button', { name: 'Filter' }).click();
    await table.locator('tr[data-action="webhook.create"]').waitFor({ state: 'detached' });
    const push = table.locator('tr[data-action="package.push"]').first();
    await push.getByText('alice').waitFor();
    await push.getByText('initech/charts/app').waitFor();
    await push.getByText(/tags 1\.0\.0/).waitFor();
    await snap(page, 'webhooks-02-owner-audit');
    const href = await page.getByRole('link', { name: 'Export JSON lines' }).getAttribute('href');
    assert.equal(href, '/api/v1/audit?owner=initech&action=package.push&format=jsonl');
    const exported = await api(href ?? '');
    assert.equal(exported.status, 200);
    const lines = exported.body.trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: string });
    assert.ok(lines.length >= 1 && lines.every((l) => l.action === 'package.push' && l.actor === 'alice'));
    assert.equal(problems.length, 0, problems.join('\n'));
  });
});
