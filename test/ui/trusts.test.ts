/**
 * CI trusts in the web UI, in real Chromium against a started Wharf: an organization owner opens
 * the owner settings from the owner page, adds an owner-level trust; a trust that pins no
 * repository asks for confirmation (cancel stores nothing, confirm stores it); the package's
 * settings list both as inherited, read-only, linking back; a package admin who is not an owner
 * sees them there but cannot open the owner settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fetchHttp, pushChart } from '../helpers/charts.ts';
import { type StartedServer, startWharf } from '../helpers/server.ts';
import { browserUnavailable, ensureUiBuilt, horizontalOverflow, launchChromium, newContext, shoot, unlabelledControls } from './browser.ts';

const skip = browserUnavailable();
const ISSUER = 'https://token.actions.githubusercontent.com';

describe('CI trusts in the web UI', { skip }, () => {
  let server: StartedServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const users = { alice: 'alice-password-1', dave: 'dave-password-12' };
  const basic = (u: keyof typeof users) => `Basic ${Buffer.from(`${u}:${users[u]}`).toString('base64')}`;

  const api = async (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) => {
    const res = await fetch(server.url + path, {
      method: init.method ?? 'GET',
      headers: { authorization: init.auth ?? basic('alice'), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
  const ownerTrusts = async () => JSON.parse((await api('/api/v1/owners/globex/trusts')).body) as { conditions: Record<string, string> }[];

  const signIn = async (user: keyof typeof users): Promise<Page> => {
    const ctx = await newContext(browser, server.url);
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    await page.goto('/-/sign-in');
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(users[user]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/${user}$`));
    return page;
  };
  const snap = async (page: Page, name: string, opts: { fullPage?: boolean } = {}) => {
    await shoot(page, name, opts);
    await page.setViewportSize({ width: 390, height: 844 });
    const extra = await horizontalOverflow(page);
    if (extra > 1) problems.push(`${name}: ${extra}px wider than a phone screen`);
    for (const c of await unlabelledControls(page)) problems.push(`${name}: unlabelled ${c}`);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  before(async () => {
    ensureUiBuilt();
    server = await startWharf();
    browser = await launchChromium();
    const admin = `Basic ${Buffer.from(`${server.admin?.username}:${server.admin?.password}`).toString('base64')}`;
    for (const [username, password] of Object.entries(users)) assert.equal((await api('/api/v1/users', { method: 'POST', body: { username, password }, auth: admin })).status, 201);
    assert.equal((await api('/api/v1/orgs', { method: 'POST', body: { name: 'globex' } })).status, 201);
    await pushChart(fetchHttp(server.url, basic('alice')), 'globex/app', { name: 'app', version: '1.0.0' });
    assert.equal((await api('/api/v1/packages/globex/app/grants', { method: 'PUT', body: { subjectKind: 'user', subject: 'dave', role: 'admin' } })).status, 204);
  });

  after(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('an owner adds owner-level trusts; one for any repository needs a confirmation', async () => {
    const page = await signIn('alice');
    await page.goto('/globex');
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.waitForURL(/\/globex\/-\/settings$/);
    await page.getByRole('heading', { name: 'Settings for all packages of globex' }).waitFor();
    await page.getByText('No CI issuer is trusted for every package of globex.').waitFor();

    // A pinned trust: stored at once.
    await page.getByLabel('Audience').fill('registry.example.com');
    await page.getByLabel(/Claim conditions/).fill('repository=globex/app\nref=refs/tags/v*');
    await page.getByRole('button', { name: 'Trust this issuer' }).click();
    await page.getByRole('list', { name: 'Trusted issuers' }).getByText('repository=globex/app, ref=refs/tags/v*').waitFor();

    // Any repository: the dialog explains; Cancel stores nothing.
    await page.getByLabel(/Claim conditions/).fill('repository=*');
    await page.getByRole('button', { name: 'Trust this issuer' }).click();
    const dialog = page.getByRole('dialog', { name: 'Trust CI jobs of any repository?' });
    await dialog.waitFor();
    await dialog.getByText(/every repository/).waitFor();
    await snap(page, 'trusts-01-confirm-any-repository', { fullPage: false });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual(
      (await ownerTrusts()).map((t) => t.conditions),
      [{ repository: 'globex/app', ref: 'refs/tags/v*' }],
      'cancel stores nothing',
    );

    // Confirm stores it.
    await page.getByRole('button', { name: 'Trust this issuer' }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Trust any repository' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('list', { name: 'Trusted issuers' }).getByText('repository=*', { exact: true }).waitFor();
    assert.equal((await ownerTrusts()).length, 2);
    await snap(page, 'trusts-02-owner-settings');
  });

  test("the package's settings show the owner's trusts as inherited, read-only, linking to the owner settings", async () => {
    const page = await signIn('alice');
    await page.goto('/globex/app/-/settings');
    const inherited = page.getByRole('list', { name: 'Trusts inherited from globex' });
    await inherited.getByText('repository=globex/app, ref=refs/tags/v*').waitFor();
    assert.equal(await inherited.getByRole('listitem').count(), 2);
    assert.equal(await inherited.getByRole('button').count(), 0, 'no Remove button on inherited trusts');
    await page.getByText('No CI issuer is trusted for this package alone.').waitFor();
    await snap(page, 'trusts-03-package-inherited');
    await page.getByRole('link', { name: "globex's settings" }).click();
    await page.waitForURL(/\/globex\/-\/settings$/);
    // Removing one there removes it from the package's view too.
    await page.getByRole('button', { name: `Stop trusting ${ISSUER} (*)` }).click();
    await page.getByRole('dialog', { name: 'Stop trusting this issuer?' }).getByRole('button', { name: 'Remove trust' }).click();
    await page.getByRole('list', { name: 'Trusted issuers' }).getByText('repository=*', { exact: true }).waitFor({ state: 'detached' });
    await page.goto('/globex/app/-/settings');
    await page.getByRole('list', { name: 'Trusts inherited from globex' }).getByText('repository=globex/app, ref=refs/tags/v*').waitFor();
    assert.equal(await page.getByRole('list', { name: 'Trusts inherited from globex' }).getByRole('listitem').count(), 1);
  });

  test('a package admin sees the inherited trusts but not the owner settings', async () => {
    const page = await signIn('dave');
    await page.goto('/globex/app/-/settings');
    await page.getByRole('list', { name: 'Trusts inherited from globex' }).getByText('repository=globex/app, ref=refs/tags/v*').waitFor();
    await page.goto('/globex');
    await page.getByRole('heading', { name: 'globex' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Settings', exact: true }).count(), 0, 'no settings link for a non-owner');
    await page.goto('/globex/-/settings');
    await page.getByRole('heading', { name: "You don't have access to this" }).waitFor();
    assert.equal(problems.length, 0, problems.join('\n'));
  });
});
